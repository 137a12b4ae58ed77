// AdmissionRequests as the API server sends them, for tests that call the handlers
// in-process or post them to a webhook: the group/version/kind/resource of Spider*
// objects and pods written once. (tests/webhook/malformed-requests.test.ts keeps its
// literal: it is the baseline its cases corrupt.)
import type { AdmissionRequest } from '../../webhook/admission-review.js';

const SPIDER = { group: 'spiderpool.spidernet.io', version: 'v2beta1' } as const;
const SPIDER_PLURALS = { SpiderIPPool: 'spiderippools', SpiderSubnet: 'spidersubnets', SpiderReservedIP: 'spiderreservedips', SpiderCoordinator: 'spidercoordinators' } as const;

type Operation = AdmissionRequest['operation'];

/** A review of a Spider* object; its name is the object's unless `fields` says otherwise. */
export function spiderRequest(kind: keyof typeof SPIDER_PLURALS, operation: Operation, object: { metadata: { name: string } } & Record<string, unknown>, fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'test-request',
    kind: { ...SPIDER, kind },
    resource: { ...SPIDER, resource: SPIDER_PLURALS[kind] },
    name: object.metadata.name,
    operation,
    userInfo: { username: 'tester' },
    object,
    ...fields,
  };
}

/** A pod creation in `default`, unless `fields` says otherwise. */
export function podCreateRequest(object: unknown, fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'test-request',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'default',
    operation: 'CREATE',
    userInfo: { username: 'tester' },
    object,
    ...fields,
  };
}

/** The AdmissionReview envelope the API server posts. */
export const admissionReview = (request: AdmissionRequest) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
