// What every admission decision must look like, whatever it was asked about.
import jsonPatch from 'fast-json-patch';
import type { z } from 'zod';
import { SpiderIPPool } from '../../../ipam/spider-ippool.js';
import { SpiderReservedIP } from '../../../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../../../ipam/spider-subnet.js';
import type { AdmissionDecision, AdmissionRequest } from '../../../webhook/admission-review.js';
import { copyJson } from './json-tools.js';
import type { SpiderKind } from './spider-objects.js';

export const SCHEMAS: Record<SpiderKind, z.ZodType> = { SpiderSubnet, SpiderIPPool, SpiderReservedIP };

export function isSpiderKind(kind: string): kind is SpiderKind {
  return Object.hasOwn(SCHEMAS, kind);
}

/** A line of a denial after the first: `field: message`, the field rooted where Underpin roots them. */
const FIELD_LINE = /^(\(object\)|apiVersion|kind|metadata|spec)([.[][^\n]*?)?: [^\n]*\S[^\n]*$/;

/** What is wrong with the shape of a decision (nothing, mostly). */
export function decisionShapeProblems(decision: unknown): string[] {
  if (decision === null || typeof decision !== 'object') return [`decision is ${JSON.stringify(decision)}, not an object`];
  const d = decision as Record<string, unknown>;
  if (d.allowed === true) {
    const problems: string[] = [];
    if (d.warnings !== undefined && (!Array.isArray(d.warnings) || d.warnings.some((w) => typeof w !== 'string' || w.trim() === ''))) {
      problems.push(`warnings is not a list of non-empty strings: ${JSON.stringify(d.warnings)}`);
    }
    if (d.patch !== undefined && (!Array.isArray(d.patch) || d.patch.length === 0)) problems.push('patch is present but not a non-empty list');
    return problems;
  }
  if (d.allowed === false) {
    if (typeof d.message !== 'string' || d.message.trim() === '') return ['a denial without a message'];
    return [];
  }
  return [`allowed is ${JSON.stringify(d.allowed)}`];
}

/**
 * A validating denial: `<Kind> <name> is invalid:` and then one `field: message`
 * line per problem, at least one. Returns the offending lines.
 */
export function denialFormatProblems(request: AdmissionRequest, message: string): string[] {
  const head = `${request.kind.kind} ${request.name || '(generated name)'} is invalid:\n`;
  if (!message.startsWith(head)) return [`does not start with ${JSON.stringify(head)}: ${JSON.stringify(message.slice(0, 200))}`];
  const lines = message.slice(head.length).split('\n');
  if (lines.length === 0 || (lines.length === 1 && lines[0] === '')) return ['names no problem'];
  // formatProblems summarises past MAX_LISTED_PROBLEMS with one closing line.
  return lines.filter((line, i) => !FIELD_LINE.test(line) && !(i === lines.length - 1 && /^… and \d+ more problems$/.test(line))).map((line) => `not a "field: message" line: ${JSON.stringify(line.slice(0, 200))}`);
}

/** Characters that end a line for many readers (JavaScript, editors, web UIs), though not for split('\n'). */
const RAW_LINE_BREAK = /[\r\u2028\u2029]/;

/**
 * The problem lines of a denial that hold a raw CR, U+2028 or U+2029: user text
 * quoted into a problem must be escaped, so that each problem reads as one line
 * everywhere. The heading is left out: it holds the object's name as the request
 * gives it, which the API server has validated (only generated requests break it).
 */
export function rawLineBreakProblems(request: AdmissionRequest | undefined, message: string): string[] {
  const head = request ? `${request.kind.kind} ${request.name || '(generated name)'} is invalid:\n` : '';
  const problems = head && message.startsWith(head) ? message.slice(head.length) : message;
  return problems
    .split('\n')
    .filter((line) => RAW_LINE_BREAK.test(line))
    .map((line) => {
      const code = RAW_LINE_BREAK.exec(line)![0].charCodeAt(0);
      const shown = line.slice(0, 200).replace(/[\r\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      return `a raw U+${code.toString(16).toUpperCase().padStart(4, '0')} inside the line ${JSON.stringify(shown)}`;
    });
}

/** Where defaulting may write; anything else is the user's and must not change. */
const PATCHABLE: Record<SpiderKind, readonly string[]> = {
  SpiderSubnet: ['/metadata/labels', '/metadata/finalizers', '/spec/subnet', '/spec/ipVersion', '/spec/ips', '/spec/excludeIPs'],
  SpiderIPPool: [
    '/metadata/labels',
    '/metadata/finalizers',
    '/metadata/ownerReferences',
    '/spec/subnet',
    '/spec/ipVersion',
    '/spec/ips',
    '/spec/excludeIPs',
    '/spec/gateway',
    '/spec/routes',
    '/spec/vlan',
  ],
  SpiderReservedIP: ['/spec/ipVersion', '/spec/ips'],
};

const OPS = new Set(['add', 'remove', 'replace', 'copy', 'move', 'test']);

export interface PatchOutcome {
  problems: string[];
  /** The object with the patch applied, when it applied. */
  patched?: unknown;
  /** The JSON pointers the patch wrote. */
  written: string[];
}

/** Is the patch a well-formed RFC 6902 list that applies to `object` and stays inside the fields defaulting owns? */
export function checkPatch(kind: SpiderKind, object: unknown, patch: unknown): PatchOutcome {
  if (!Array.isArray(patch)) return { problems: [`patch is not a list: ${JSON.stringify(patch)}`], written: [] };
  const problems: string[] = [];
  const written: string[] = [];
  patch.forEach((op: unknown, index) => {
    const o = op as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return void problems.push(`[${index}] is not an operation object`);
    if (typeof o.op !== 'string' || !OPS.has(o.op)) return void problems.push(`[${index}].op ${JSON.stringify(o.op)} is not an RFC 6902 operation`);
    if (typeof o.path !== 'string' || (o.path !== '' && !o.path.startsWith('/'))) return void problems.push(`[${index}].path ${JSON.stringify(o.path)} is not a JSON pointer`);
    if ((o.op === 'add' || o.op === 'replace' || o.op === 'test') && !('value' in o)) problems.push(`[${index}] ${o.op} without a value`);
    if ((o.op === 'move' || o.op === 'copy') && typeof o.from !== 'string') problems.push(`[${index}] ${o.op} without from`);
    const path = o.path;
    if (!PATCHABLE[kind].some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) problems.push(`[${index}] writes ${path}, which defaulting does not own`);
    written.push(path);
  });
  if (problems.length > 0) return { problems, written };
  try {
    const result = jsonPatch.applyPatch(copyJson(object), patch as jsonPatch.Operation[], true, true);
    return { problems, written, patched: result.newDocument };
  } catch (error) {
    return { problems: [`does not apply: ${(error as Error).message.split('\n')[0]}`], written };
  }
}

/** Zod issue paths as JSON pointers, to compare with what a patch wrote. */
export function schemaIssuePointers(kind: SpiderKind, object: unknown): string[] {
  const parsed = SCHEMAS[kind].safeParse(object);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `/${issue.path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`);
}

/** Is `a` the same pointer as `b`, or inside it, or around it? */
export function pointersMeet(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`) || a === '/' || b === '/';
}

/** Narrows a decision for the type checker. */
export function denied(decision: AdmissionDecision): decision is Extract<AdmissionDecision, { allowed: false }> {
  return decision.allowed === false;
}
