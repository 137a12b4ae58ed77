// SpiderCoordinator: upstream's defaults, and every rule the webhook checks, with
// the field, the value and the fix.
import t from 'tap';
import { coordinatorDefaultsOf, defaultSpiderCoordinator, reviewSpiderCoordinator, SpiderCoordinator } from '../../../ipam/spider-coordinator.js';

const object = (spec: Record<string, unknown> = {}, name = 'default') => ({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderCoordinator', metadata: { name }, spec });

function problems(spec: Record<string, unknown>, operation: 'CREATE' | 'UPDATE' = 'CREATE', name = 'default'): string[] {
  const verdict = reviewSpiderCoordinator(operation, object(spec, name));
  return verdict.allowed ? [] : verdict.problems.map((p) => `${p.field}: ${p.message}`);
}

function warnings(spec: Record<string, unknown>): string[] {
  const verdict = reviewSpiderCoordinator('CREATE', object(spec));
  return verdict.allowed ? verdict.warnings : ['denied'];
}

t.test("defaults are upstream's, and only fill what is absent", async (t) => {
  const parsed = SpiderCoordinator.parse(object({ mode: 'underlay', hijackCIDR: ['169.254.20.10', 'fd00::a', '10.0.0.1/8'] }));
  t.same(defaultSpiderCoordinator(parsed).spec, {
    mode: 'underlay',
    hijackCIDR: ['169.254.20.10/32', 'fd00::a/128', '10.0.0.0/8'],
    podCIDRType: 'auto',
    tunePodRoutes: true,
    hostRuleTable: 500,
    hostRPFilter: 0,
    podRPFilter: 0,
    txQueueLen: 0,
    detectIPConflict: false,
    detectGateway: false,
  });
  const noSpec = SpiderCoordinator.parse({ kind: 'SpiderCoordinator', metadata: { name: 'default' } });
  t.equal(defaultSpiderCoordinator(noSpec).spec.mode, 'auto', 'an object without spec gets one');
});

t.test("upstream's Helm chart object applies unchanged", async (t) => {
  const chart = {
    mode: 'auto',
    podCIDRType: 'auto',
    tunePodRoutes: true,
    podDefaultRouteNIC: '',
    podMACPrefix: '',
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
    vethLinkAddress: '',
    hijackCIDR: ['169.254.0.0/16'],
  };
  t.same(problems(chart), []);
  t.same(warnings(chart), []);
  t.same(problems({ mode: 'underlay', podCIDRType: 'cluster', detectGateway: false, detectIPConflict: false, hostRPFilter: 0, podDefaultRouteNIC: 'eth0' }), [], 'an older release\'s sample');
});

t.test('one object, named default', async (t) => {
  t.same(problems({}, 'CREATE', 'second'), [
    'metadata.name: is "second"; the cluster has one SpiderCoordinator, named "default", whose spec every coordinator network follows: edit SpiderCoordinator default (kubectl edit scc default) instead of creating another',
  ]);
  t.same(problems({}, 'UPDATE', 'second'), [], 'one made before the webhook can still be edited');
  t.ok(reviewSpiderCoordinator('DELETE', object({ mode: 'bad' }, 'x')).allowed, 'and deleted');
});

t.test('every field: the value and the fix', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ mode: 'disable' }, 'spec.mode: is "disable"; write one of "auto", "underlay", "overlay", "disabled"'],
    [{ podCIDRType: 'flannel' }, 'spec.podCIDRType: is "flannel"; write one of "auto", "cluster", "calico", "cilium", "none"'],
    [{ tunePodRoutes: 'yes' }, 'spec.tunePodRoutes: is "yes"; write true or false'],
    [{ hijackCIDR: '10.0.0.0/8' }, 'spec.hijackCIDR: is "10.0.0.0/8"; write a list of CIDRs, e.g. ["169.254.20.10/32"]'],
    [{ hijackCIDR: ['10.0.0.0/33'] }, 'spec.hijackCIDR[0]: "10.0.0.0/33" is not a valid CIDR'],
    [{ podMACPrefix: '0a1b' }, 'spec.podMACPrefix: is "0a1b"; write two bytes in hex separated by a colon, e.g. "0a:1b" (or "" for none)'],
    [{ podMACPrefix: '0b:1b' }, 'spec.podMACPrefix: is "0b:1b", a multicast prefix (the lowest bit of the first byte is 1); a pod needs a unicast MAC, e.g. "0a:1b"'],
    [{ hostRuleTable: 254 }, "spec.hostRuleTable: is 254, the kernel's main table; pick a table of its own, e.g. 500"],
    [{ hostRuleTable: 0 }, 'spec.hostRuleTable: is 0; write a routing table number from 1 to 4294967294, e.g. 500'],
    [{ podRPFilter: 3 }, 'spec.podRPFilter: is 3; write 0 (off), 1 (strict), 2 (loose), or a negative number to leave it as it is'],
    [{ txQueueLen: -1 }, 'spec.txQueueLen: is -1; write a whole number of packets, or 0 to leave it as it is'],
    [{ vethLinkAddress: '10.0.0.1' }, 'spec.vethLinkAddress: is "10.0.0.1"; write an IPv4 link-local address (169.254.0.0/16), e.g. "169.254.100.1", or "" for none'],
    [{ vethLinkAddress: 'fe80::1' }, 'spec.vethLinkAddress: is "fe80::1"; write an IPv4 link-local address (169.254.0.0/16), e.g. "169.254.100.1", or "" for none'],
    [{ vethMTU: 0 }, 'spec.vethMTU: is 0; write an MTU from 68 to 65535, e.g. 1500, or leave it out'],
    [{ podDefaultRouteNIC: 'a very long interface name' }, 'spec.podDefaultRouteNIC: is "a very long interface name"; write the name of a pod NIC'],
  ];
  for (const [spec, expected] of cases) {
    const found = problems(spec);
    t.equal(found.length, 1, JSON.stringify(spec));
    t.ok(found[0]?.startsWith(expected), `${found[0]} starts with ${expected}`);
  }
  t.equal(problems({ mode: 'x', podRPFilter: 9, hostRuleTable: 253 }).length, 3, 'all problems at once');
  t.same(problems({ podRPFilter: -5, vethLinkAddress: '169.254.100.1', podMACPrefix: '0a:1b', hijackCIDR: ['169.254.20.10'] }), []);
});

t.test('warnings: accepted, without effect', async (t) => {
  t.match(warnings({ tuneMode: 'underlay' }), [/spec.tuneMode is not a SpiderCoordinator v2beta1 field and is ignored: it is spec.mode since Spiderpool 0.8/]);
  t.match(warnings({ hostRPFilter: 1 }), [/never changes the node's sysctls/]);
  t.match(warnings({ podMACPrefix: '00:1b' }), [/universally administered.*"02:1b"/]);
  t.match(warnings({ txQueueLen: 1000, vethMTU: 1400 }), [/txQueueLen 1000 is accepted but not applied/, /vethMTU 1400 is accepted but not applied/]);
});

t.test("the plugin's view of an object read from the API", async (t) => {
  const good = coordinatorDefaultsOf(SpiderCoordinator.parse(object({ mode: 'underlay', hijackCIDR: ['169.254.20.10'] })));
  t.ok(good.ok);
  if (good.ok) t.match(good.value, { mode: 'underlay', podCIDRType: 'auto', hijackCIDR: ['169.254.20.10/32'], hostRuleTable: 500, tunePodRoutes: true, podRPFilter: 0, vethLinkAddress: '' });
  const bad = coordinatorDefaultsOf(SpiderCoordinator.parse(object({ hostRuleTable: 255 })));
  t.match(bad, { ok: false, reason: /spec.hostRuleTable: is 255/ });
});
