// SpiderCoordinator through the Spider* admission handlers: the mutating path writes
// upstream's defaults as a JSONPatch, the validating path refuses a second object and
// bad fields with the field, the value and the fix.
import t from 'tap';
import jsonPatch from 'fast-json-patch';
import { mutateSpiderResource, validateSpiderResource } from '../../../webhook/spider-resources.js';
import { spiderRequest } from '../../webhook/admission-requests.js';
import { InMemoryUnderlay } from '../../webhook/in-memory-underlay.js';

const state = new InMemoryUnderlay();
const coordinator = (spec: Record<string, unknown>, name = 'default') => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name }, spec });

t.test('defaulting: a patch to upstream\'s defaults', async (t) => {
  const object = coordinator({ mode: 'underlay', hijackCIDR: ['169.254.20.10'] });
  const decision = await mutateSpiderResource(spiderRequest('SpiderCoordinator', 'CREATE', object), state);
  t.ok(decision.allowed);
  if (!decision.allowed || !decision.patch) return t.fail('a patch');
  const patched = jsonPatch.applyPatch(structuredClone(object), decision.patch as jsonPatch.Operation[]).newDocument;
  t.same(patched.spec, { mode: 'underlay', hijackCIDR: ['169.254.20.10/32'], podCIDRType: 'auto', tunePodRoutes: true, hostRuleTable: 500, hostRPFilter: 0, podRPFilter: 0, txQueueLen: 0, detectIPConflict: false, detectGateway: false });
  const noSpec = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name: 'default' } };
  const added = await mutateSpiderResource(spiderRequest('SpiderCoordinator', 'CREATE', noSpec), state);
  t.match(added, { allowed: true, patch: [{ op: 'add', path: '/spec' }] }, 'an object without spec gets one');
});

t.test('validation: a second SpiderCoordinator, bad fields', async (t) => {
  const second = await validateSpiderResource(spiderRequest('SpiderCoordinator', 'CREATE', coordinator({ podCIDRType: 'cluster' }, 'mine')), state);
  t.same(second, {
    allowed: false,
    code: 422,
    reason: 'Invalid',
    message:
      'SpiderCoordinator mine is invalid:\nmetadata.name: is "mine"; the cluster has one SpiderCoordinator, named "default", whose spec every coordinator network follows: edit SpiderCoordinator default (kubectl edit scc default) instead of creating another',
  });
  const bad = await validateSpiderResource(spiderRequest('SpiderCoordinator', 'UPDATE', coordinator({ hostRuleTable: 255, mode: 'disable' })), state);
  t.match(bad, { allowed: false, message: /^SpiderCoordinator default is invalid:\nspec.mode: is "disable"; write one of .*\nspec.hostRuleTable: is 255, the kernel's local table/ });
  t.same(await validateSpiderResource(spiderRequest('SpiderCoordinator', 'CREATE', coordinator({ podCIDRType: 'cluster' })), state), { allowed: true });
  t.match(await validateSpiderResource(spiderRequest('SpiderCoordinator', 'CREATE', coordinator({ tuneMode: 'underlay' })), state), { allowed: true, warnings: [/spec.tuneMode is not a SpiderCoordinator v2beta1 field/] });
  t.same(await validateSpiderResource(spiderRequest('SpiderCoordinator', 'DELETE', coordinator({}, 'old')), state), { allowed: true });
});
