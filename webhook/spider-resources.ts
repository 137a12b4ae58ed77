// Admission for the Spider* resources an administrator writes (SpiderSubnet,
// SpiderIPPool, SpiderReservedIP): parse at the edge, judge with ipam/.
import type { FastifyInstance } from 'fastify';
import { formatProblems } from '../ipam/field-problem.js';
import { SpiderIPPool, validateIPPoolSpec } from '../ipam/spider-ippool.js';
import { allow, deny, describeIssues, type AdmissionDecision, type AdmissionRequest } from './admission-review.js';
import { registerAdmissionRoute } from './admission-route.js';

export const SPIDER_MUTATE_PATH = '/mutate/spider-resources';
export const SPIDER_VALIDATE_PATH = '/validate/spider-resources';

function objectName(request: AdmissionRequest): string {
  return `${request.kind.kind} ${request.name || '(generated name)'}`;
}

function validateSpiderIPPool(request: AdmissionRequest): AdmissionDecision {
  const parsed = SpiderIPPool.safeParse(request.object);
  if (!parsed.success) return deny(`${objectName(request)} is invalid:\n${describeIssues(parsed.error)}`);
  const problems = validateIPPoolSpec(parsed.data.spec);
  if (problems.length > 0) return deny(`${objectName(request)} is invalid:\n${formatProblems(problems)}`);
  return allow();
}

export function validateSpiderResource(request: AdmissionRequest): AdmissionDecision {
  if (request.operation === 'DELETE') return allow();
  switch (request.kind.kind) {
    case 'SpiderIPPool':
      return validateSpiderIPPool(request);
    default:
      return allow();
  }
}

export async function spiderResources(app: FastifyInstance): Promise<void> {
  // Defaulting (canonical CIDRs, ipVersion, labels) comes with the Spider* admission rules.
  registerAdmissionRoute(app, SPIDER_MUTATE_PATH, () => allow());
  registerAdmissionRoute(app, SPIDER_VALIDATE_PATH, validateSpiderResource);
}
