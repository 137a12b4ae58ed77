// The whole admission verdict for SpiderSubnet, SpiderIPPool and SpiderReservedIP:
// schema, single-object checks, then the rules between objects. Pure: what exists
// in the cluster comes in as an UnderlayContext.
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import {
  immutableFieldProblems,
  poolConflicts,
  removedInUseProblems,
  reservedWarnings,
  subnetConflicts,
  listSome,
  type AddressInUse,
  type BlockHolder,
  type ReservedHolder,
} from './address-conflicts.js';
import { formatAddress } from './address.js';
import type { RangeSet } from './range-set.js';
import { schemaProblems, type FieldProblem } from './field-problem.js';
import { SpiderIPPool, validatePoolSelectionFields } from './spider-ippool.js';
import { SpiderReservedIP, readReservedIPs } from './spider-reserved-ip.js';
import { SpiderSubnet } from './spider-subnet.js';
import { readUnderlayBlock, type UnderlayBlock, type UnderlaySpec } from './underlay-block.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface UnderlayContext {
  /** Every pool and subnet known, including ones being admitted right now elsewhere. */
  holders: readonly BlockHolder[];
  reserved: readonly ReservedHolder[];
  /** Addresses pods hold from the named pool. */
  inUse(pool: string): readonly AddressInUse[];
}

export type Verdict =
  | { allowed: true; warnings: string[]; /** what the object holds once admitted */ holder?: BlockHolder }
  | { allowed: false; problems: FieldProblem[] };

const allowed = (warnings: string[] = [], holder?: BlockHolder): Verdict => ({ allowed: true, warnings, ...(holder ? { holder } : {}) });
const denied = (problems: FieldProblem[]): Verdict => ({ allowed: false, problems });

function parse<T>(schema: z.ZodType<T>, object: unknown): { value: T | undefined; problems: FieldProblem[] } {
  const parsed = schema.safeParse(object);
  return parsed.success ? { value: parsed.data, problems: [] } : { value: undefined, problems: schemaProblems(parsed.error.issues) };
}

/**
 * An update that leaves the spec alone (labels, finalizers, owner references) is
 * admitted as it is: it claims nothing new, and refusing it could block the
 * finalizer removal that lets a pool be deleted.
 */
function specUnchanged(object: unknown, oldObject: unknown): boolean {
  const spec = (o: unknown) => (o as { spec?: unknown } | null)?.spec;
  return oldObject != null && isDeepStrictEqual(spec(object), spec(oldObject));
}

/** The old object's block on UPDATE; it was admitted before, but may predate Underpin. */
function oldBlock(schema: z.ZodType<{ spec: UnderlaySpec }>, oldObject: unknown): UnderlayBlock | undefined {
  const old = schema.safeParse(oldObject);
  return old.success ? readUnderlayBlock(old.data.spec).block : undefined;
}

export function reviewSpiderIPPool(operation: Operation, object: unknown, oldObject: unknown, context: UnderlayContext): Verdict {
  if (operation === 'DELETE') return reviewHolderDeletion('SpiderIPPool', oldObject, context);
  if (operation === 'UPDATE' && specUnchanged(object, oldObject)) return allowed();
  const { value: pool, problems } = parse(SpiderIPPool, object);
  if (!pool) return denied(problems);
  const name = pool.metadata.name ?? '';
  const read = readUnderlayBlock(pool.spec);
  problems.push(...read.problems, ...validatePoolSelectionFields(pool.spec));
  if (!read.block) return denied(problems);
  const block = read.block;
  if (operation === 'UPDATE') {
    const before = oldBlock(SpiderIPPool, oldObject);
    if (before) problems.push(...immutableFieldProblems(before, block));
    problems.push(...removedInUseProblems('spec.ips', block.usable, context.inUse(name)));
  }
  problems.push(...poolConflicts(name, block, context.holders));
  if (problems.length > 0) return denied(problems);
  const warnings = reservedWarnings(block.usable, context.reserved);
  if (pool.spec.disable) warnings.push('spec.disable is true: pods keep their addresses, but no new address is handed out');
  return allowed(warnings, { kind: 'SpiderIPPool', name, cidr: block.cidr, usable: block.usable });
}

/**
 * The addresses an update of a SpiderIPPool stops handing out (spec.ips shrunk or
 * spec.excludeIPs grown), or undefined when it removes none or does not parse (then
 * the review denies it anyway). These are what a pod must not claim meanwhile.
 */
export function addressesLeavingPool(object: unknown, oldObject: unknown): { pool: string; removed: RangeSet } | undefined {
  if (specUnchanged(object, oldObject)) return undefined;
  const pool = SpiderIPPool.safeParse(object);
  const before = oldBlock(SpiderIPPool, oldObject);
  if (!pool.success || !before) return undefined;
  const after = readUnderlayBlock(pool.data.spec).block;
  if (!after || after.usable.family !== before.usable.family) return undefined;
  const removed = before.usable.difference(after.usable);
  return removed.isEmpty ? undefined : { pool: pool.data.metadata.name ?? '', removed };
}

export function reviewSpiderSubnet(operation: Operation, object: unknown, oldObject: unknown, context: UnderlayContext): Verdict {
  if (operation === 'DELETE') return reviewHolderDeletion('SpiderSubnet', oldObject, context);
  if (operation === 'UPDATE' && specUnchanged(object, oldObject)) return allowed();
  const { value: subnet, problems } = parse(SpiderSubnet, object);
  if (!subnet) return denied(problems);
  const name = subnet.metadata.name ?? '';
  const read = readUnderlayBlock(subnet.spec);
  problems.push(...read.problems);
  if (!read.block) return denied(problems);
  const block = read.block;
  const before = operation === 'UPDATE' ? oldBlock(SpiderSubnet, oldObject) : undefined;
  if (before) problems.push(...immutableFieldProblems(before, block));
  problems.push(...subnetConflicts(name, block, context.holders));
  if (problems.length > 0) return denied(problems);
  return allowed(reservedWarnings(block.usable, context.reserved), { kind: 'SpiderSubnet', name, cidr: block.cidr, usable: block.usable });
}

export function reviewSpiderReservedIP(operation: Operation, object: unknown, oldObject: unknown, context: UnderlayContext): Verdict {
  if (operation === 'DELETE') return allowed();
  if (operation === 'UPDATE' && specUnchanged(object, oldObject)) return allowed();
  const { value: reserved, problems } = parse(SpiderReservedIP, object);
  if (!reserved) return denied(problems);
  const read = readReservedIPs(reserved.spec);
  problems.push(...read.problems);
  if (operation === 'UPDATE') {
    const old = SpiderReservedIP.safeParse(oldObject);
    const oldVersion = old.success ? (old.data.spec.ipVersion ?? (readReservedIPs(old.data.spec).set?.family)) : undefined;
    const newVersion = reserved.spec.ipVersion ?? read.set?.family;
    if (oldVersion != null && newVersion != null && oldVersion !== newVersion) {
      problems.push({ field: 'spec.ipVersion', message: `is immutable (was ${oldVersion}); create a new SpiderReservedIP instead` });
    }
  }
  if (problems.length > 0 || !read.set) return denied(problems);
  const set = read.set;
  const warnings: string[] = [];
  for (const holder of context.holders) {
    if (holder.kind !== 'SpiderIPPool' || holder.usable.family !== set.family) continue;
    const shared = holder.usable.intersection(set);
    if (shared.isEmpty) continue;
    const bound = context.inUse(holder.name).filter((u) => set.containsAddress(u.address));
    const boundNote = bound.length > 0 ? `; ${listSome(bound.map((u) => `${formatAddress(u.address)}${u.pod ? ` (${u.pod})` : ''}`))} stay bound until their pods are gone` : '';
    warnings.push(`${listSome(shared.toStrings())} of SpiderIPPool ${holder.name} will no longer be handed out${boundNote}`);
  }
  return allowed(warnings);
}

/** Deleting is always admitted; the finalizer makes it wait while addresses are in use. */
function reviewHolderDeletion(kind: 'SpiderIPPool' | 'SpiderSubnet', oldObject: unknown, context: UnderlayContext): Verdict {
  const meta = (oldObject as { metadata?: { name?: string } } | null)?.metadata;
  const name = meta?.name ?? '';
  const pools =
    kind === 'SpiderIPPool'
      ? [name]
      : (() => {
          const subnet = context.holders.find((h) => h.kind === 'SpiderSubnet' && h.name === name);
          return subnet ? context.holders.filter((h) => h.kind === 'SpiderIPPool' && h.cidr.text === subnet.cidr.text).map((h) => h.name) : [];
        })();
  const inUse = pools.flatMap((pool) => context.inUse(pool));
  if (inUse.length === 0) return allowed();
  const items = inUse.map((u) => `${formatAddress(u.address)}${u.pod ? ` (${u.pod})` : ''}`);
  return allowed([`${kind} ${name} has ${inUse.length} address${inUse.length === 1 ? '' : 'es'} in use (${listSome(items)}); it is deleted once they are released`]);
}
