// The admission.k8s.io/v1 AdmissionReview exchanged with the API server: one zod
// schema for what comes in, one function for what goes out.
import { z } from 'zod';
import { formatProblems, schemaProblems } from '../ipam/field-problem.js';

const GroupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });
const GroupVersionResource = z.object({ group: z.string(), version: z.string(), resource: z.string() });

const UID_REQUIRED = 'request.uid is required: the API server matches the response by it';

export const AdmissionRequest = z.looseObject({
  uid: z.string({ error: UID_REQUIRED }).min(1, UID_REQUIRED),
  kind: GroupVersionKind,
  resource: GroupVersionResource,
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  userInfo: z.looseObject({
    username: z.string().optional(),
    uid: z.string().optional(),
    groups: z.array(z.string()).optional(),
  }),
  // Objects are validated by the handler that knows their kind.
  object: z.unknown().nullable().optional(),
  oldObject: z.unknown().nullable().optional(),
  dryRun: z.boolean().optional(),
});
export type AdmissionRequest = z.infer<typeof AdmissionRequest>;

export const AdmissionReview = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1', {
    error: 'apiVersion must be admission.k8s.io/v1 (set admissionReviewVersions: ["v1"] in the webhook configuration)',
  }),
  kind: z.literal('AdmissionReview', { error: 'kind must be AdmissionReview' }),
  request: AdmissionRequest,
});
export type AdmissionReview = z.infer<typeof AdmissionReview>;

/** One RFC 6902 operation; the API server only accepts JSONPatch. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'copy' | 'move' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

/** Why a handler denied or warned, for the metrics (`underpin_admission_findings_total`). */
export interface AdmissionFinding {
  verdict: 'denied' | 'warned';
  /** Underpin's reason, e.g. `unknown-pool`, `replicas-exceed-pool`. */
  reason: string;
}

/** What a handler decides; `allowed: false` always carries a message for the user. */
export type AdmissionDecision =
  | { allowed: true; patch?: PatchOperation[]; warnings?: string[]; findings?: AdmissionFinding[] }
  | { allowed: false; message: string; code?: number; reason?: string; findings?: AdmissionFinding[] };

export function allow(patch?: PatchOperation[], warnings?: string[]): AdmissionDecision {
  return { allowed: true, ...(patch && patch.length > 0 ? { patch } : {}), ...(warnings?.length ? { warnings } : {}) };
}

export function deny(message: string, code = 422, reason = 'Invalid'): AdmissionDecision {
  return { allowed: false, message, code, reason };
}

/** The decision, with why it was made, for the metrics. */
export function withFindings(decision: AdmissionDecision, findings: readonly AdmissionFinding[]): AdmissionDecision {
  return findings.length === 0 ? decision : { ...decision, findings: [...(decision.findings ?? []), ...findings] };
}

export function admissionResponse(uid: string, decision: AdmissionDecision) {
  const response: Record<string, unknown> = { uid, allowed: decision.allowed };
  if (decision.allowed) {
    if (decision.patch) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(decision.patch)).toString('base64');
    }
    if (decision.warnings) response.warnings = decision.warnings;
  } else {
    response.status = { status: 'Failure', message: decision.message, code: decision.code ?? 422, reason: decision.reason ?? 'Invalid' };
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** Render zod issues as `path: message` lines, the way every Underpin error names its field. */
export function describeIssues(error: z.ZodError): string {
  return formatProblems(schemaProblems(error.issues));
}

/** Objects nested deeper than this are refused before any handler walks them. */
export const MAX_OBJECT_DEPTH = 100;

/** Does `value` nest objects or arrays deeper than `limit`? Iterative: deep input must not overflow the stack. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
