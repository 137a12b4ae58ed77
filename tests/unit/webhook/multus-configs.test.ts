// SpiderMultusConfig on the Spider* admission routes, in-process: the mutating path
// answers with the JSON patch of upstream's defaults, the validating path with every
// problem at once (and the state's view of the namespace), DELETE always passes.
import t from 'tap';
import type { AdmissionRequest } from '../../../webhook/admission-review.js';
import type { MultusConfigAdmissionState } from '../../../webhook/multus-configs.js';
import { mutateSpiderResource, validateSpiderResource, type UnderlayAdmissionState } from '../../../webhook/spider-resources.js';

const SPIDER = { group: 'spiderpool.spidernet.io', version: 'v2beta1' };
const request = (operation: AdmissionRequest['operation'], object: unknown, oldObject?: unknown): AdmissionRequest => ({
  uid: 'u1',
  kind: { ...SPIDER, kind: 'SpiderMultusConfig' },
  resource: { ...SPIDER, resource: 'spidermultusconfigs' },
  name: 'net',
  namespace: 'default',
  operation,
  userInfo: { username: 'tester' },
  object,
  ...(oldObject ? { oldObject } : {}),
});
const smc = (spec: object) => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderMultusConfig', metadata: { name: 'net', namespace: 'default' }, spec });
// Only hasSynced is read for SpiderMultusConfigs.
const underlay = { hasSynced: true } as UnderlayAdmissionState;
const state: MultusConfigAdmissionState = { context: async () => ({ siblings: [{ name: 'other', network: 'taken' }], poolFamily: (name) => (name === 'v6' ? 6 : undefined) }) };

t.test('mutating: upstream\'s defaults as a JSON patch', async (t) => {
  const decision = await mutateSpiderResource(request('CREATE', smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] } })), underlay);
  t.ok(decision.allowed);
  t.same(
    decision.allowed && [...(decision.patch ?? [])].sort((a, b) => a.path.localeCompare(b.path)),
    [
      { op: 'add', path: '/spec/disableIPAM', value: false },
      { op: 'add', path: '/spec/enableCoordinator', value: true },
      { op: 'add', path: '/spec/macvlan/ippools', value: { ipv4: [], ipv6: [] } },
      { op: 'add', path: '/spec/macvlan/mtu', value: 0 },
      { op: 'add', path: '/spec/macvlan/vlanID', value: 0 },
    ],
  );
});

t.test('validating: every problem, the namespace\'s other smcs and the pools\' families from the state', async (t) => {
  const bad = smc({ cniType: 'macvlan', macvlan: { master: ['eth1'], ippools: { ipv4: ['v6'] } } });
  const decision = await validateSpiderResource(request('CREATE', { ...bad, metadata: { ...bad.metadata, annotations: { 'multus.spidernet.io/cr-name': 'taken' } } }), underlay, state);
  t.notOk(decision.allowed);
  t.equal(
    !decision.allowed && decision.message,
    'SpiderMultusConfig default/net is invalid:\n' +
      'spec.macvlan.ippools.ipv4[0]: SpiderIPPool "v6" is an IPv6 pool; list it under spec.macvlan.ippools.ipv6, or name an IPv4 pool\n' +
      'metadata.annotations["multus.spidernet.io/cr-name"]: NetworkAttachmentDefinition default/taken is already rendered by SpiderMultusConfig "other"; set metadata.annotations["multus.spidernet.io/cr-name"] to another name',
  );
  t.ok((await validateSpiderResource(request('DELETE', null, bad), underlay, state)).allowed, 'DELETE passes');
  const unsynced = await validateSpiderResource(request('CREATE', bad), { hasSynced: false } as UnderlayAdmissionState, state);
  t.notOk(unsynced.allowed, 'not judged before the caches are loaded');
});
