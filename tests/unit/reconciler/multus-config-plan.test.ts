// What the SpiderMultusConfig controller does with one smc and the NAD of its name:
// create it owned, leave it when equal, set it back when edited, wait while it is
// deleted, replace one left by an earlier smc of the name, never touch another's.
import t from 'tap';
import { MultusConfigRecord, NetworkRecord, planNetwork } from '../../../reconciler/multus-config-plan.js';

const smc = MultusConfigRecord.parse({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name: 'net', namespace: 'default', uid: 'uid-1' },
  spec: { cniType: 'macvlan', enableCoordinator: true, macvlan: { master: ['uplink0'], ippools: { ipv4: ['a', 'b'] } } },
});
const CONFIG = '{"cniVersion":"0.3.1","name":"net","plugins":[{"type":"macvlan","master":"uplink0","mode":"bridge","ipam":{"type":"spiderpool","default_ipv4_ippool":["a","b"]}},{"type":"coordinator"}]}';
const OWNER = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', name: 'net', uid: 'uid-1', controller: true, blockOwnerDeletion: true };
const nad = (meta: object, config = CONFIG) => NetworkRecord.parse({ metadata: { name: 'net', namespace: 'default', uid: 'nad-1', resourceVersion: '7', ...meta }, spec: { config } });
const live = (uid: string) => uid === 'uid-1';

t.test('no NAD: create it with a controller reference to the smc', async (t) => {
  t.same(planNetwork(smc, undefined, live), {
    action: 'create',
    body: { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'net', namespace: 'default', annotations: {}, ownerReferences: [OWNER] }, spec: { config: CONFIG } },
  });
});

t.test('its own NAD: nothing when equal; set back when edited', async (t) => {
  t.same(planNetwork(smc, nad({ ownerReferences: [OWNER] }), live), { action: 'none' });
  t.same(planNetwork(smc, nad({ ownerReferences: [OWNER], annotations: { extra: 'x' } }, '{"edited":true}'), live), { action: 'update', uid: 'nad-1', resourceVersion: '7', annotations: {}, spec: { config: CONFIG } });
});

t.test('a NAD being deleted: wait', async (t) => {
  t.equal(planNetwork(smc, nad({ ownerReferences: [OWNER], deletionTimestamp: '2026-01-01T00:00:00Z' }), live).action, 'wait');
});

t.test('a NAD of an earlier smc of this name: replaced', async (t) => {
  t.same(planNetwork(smc, nad({ ownerReferences: [{ ...OWNER, uid: 'uid-0' }] }), live), { action: 'replace-stale', uid: 'nad-1' });
});

t.test('a NAD Underpin did not make, or made for another live smc: left alone, with the reason', async (t) => {
  t.same(planNetwork(smc, nad({}), live), {
    action: 'foreign',
    reason: 'NetworkAttachmentDefinitionNotOwned',
    message: 'NetworkAttachmentDefinition default/net exists and was not made from this SpiderMultusConfig (it has no controller reference to it), so Underpin leaves it as it is; delete it (kubectl delete net-attach-def -n default net) to have Underpin render it from this SpiderMultusConfig, or re-create this SpiderMultusConfig with annotation multus.spidernet.io/cr-name naming another NetworkAttachmentDefinition',
  });
  const other = planNetwork(smc, nad({ ownerReferences: [{ ...OWNER, name: 'other', uid: 'uid-2' }] }), (uid) => uid === 'uid-1' || uid === 'uid-2');
  t.equal(other.action, 'foreign');
  t.match(other.action === 'foreign' && other.message, /is rendered from SpiderMultusConfig default\/other, not from this one/);
});

t.test('an smc written past the webhook: reported, nothing written', async (t) => {
  const bad = MultusConfigRecord.parse({ ...smc, spec: { cniType: 'macvlan', macvlan: { master: [] } } });
  const plan = planNetwork(bad, nad({ ownerReferences: [OWNER] }), live);
  t.equal(plan.action, 'invalid');
  t.match(plan.action === 'invalid' && plan.message, /spec\.macvlan\.master: is empty/);
});
