// Underlay mode without a namespace: its configuration, the veth's names, the
// commands for the pod and the node and their undo, stale rules, the node's
// addresses, and what CHECK calls a difference.
import t from 'tap';
import { readCoordinatorConfig } from '../../cni/coordinator/coordinator-config.js';
import { nodeAddressesFrom, nodeAddressesFromConfig, type ObservedLink } from '../../cni/coordinator/node-addresses.js';
import { HOST_RULE_PREF, planUnderlay, staleHostRules, underlayProblems, type HostTableState, type UnderlayFacts } from '../../cni/coordinator/underlay-plan.js';
import { hostVethName, vethMacs } from '../../cni/coordinator/veth-names.js';
import { cniErrorOf } from './cni-error-of.js';

const code = cniErrorOf;

t.test('configuration: Spiderpool\'s fields and spellings, CIDRs canonical, clear refusals', async (t) => {
  const underlay = readCoordinatorConfig({
    cniVersion: '1.0.0',
    mode: 'underlay',
    serviceCIDR: ['10.233.0.1/18', 'fd00:233::/112'],
    hijackCIDR: ['169.254.20.10/32'],
    hijackCustomSubnet: ['10.233.0.0/18', '172.16.0.0/16'],
    nodeIPs: ['10.6.0.2', 'FD00:6::2'],
    podDefaultRouteNIC: 'net1',
  });
  t.same(underlay.routedCidrs, ['10.233.0.0/18', 'fd00:233::/112', '169.254.20.10/32', '172.16.0.0/16'], 'CIDRs canonical, all lists together, no repeats');
  t.same([underlay.nodeIPs, underlay.podDefaultRouteNic, underlay.hostRuleTable], [['10.6.0.2', 'fd00:6::2'], 'net1', 500], "SpiderCoordinator's podDefaultRouteNIC spelling");
  t.match(code(() => readCoordinatorConfig({ cniVersion: '1.0.0', mode: 'underlay', serviceCIDR: ['10.233.0.0'] })), { code: 7, msg: /serviceCIDR\.0: "10\.233\.0\.0" is not a valid CIDR: it has no prefix length/ });
  t.match(code(() => readCoordinatorConfig({ cniVersion: '1.0.0', nodeIPs: ['node-1'] })), { code: 7, msg: /nodeIPs\.0: "node-1" is not an IPv4 or IPv6 address/ });
  t.match(code(() => readCoordinatorConfig({ cniVersion: '1.0.0', hostRuleTable: 254 })), { code: 7, msg: /hostRuleTable: must not be one of the kernel tables/ });
});

const CONTAINER = '3f1e2d4c5b6a79880123456789abcdef0123456789abcdef0123456789abcdef';
const empty = (): HostTableState => ({ rules: { 4: [], 6: [] }, routes: { 4: [], 6: [] } });

const facts = (overrides: Partial<UnderlayFacts> = {}): UnderlayFacts => ({
  containerID: CONTAINER,
  podNetns: '/var/run/netns/cni-1234',
  ifname: 'eth0',
  podAddresses: { 4: ['10.6.0.5'], 6: ['fd00:6::5'] },
  nodeAddresses: { 4: ['10.6.0.2', '192.168.0.2'], 6: ['fd00:6::2'] },
  routedCidrs: ['10.233.0.0/18', 'fd00:233::/112', '169.254.20.10/32'],
  podTables: ['main'],
  hostTable: 500,
  ...overrides,
});

t.test('names: Spiderpool\'s host veth name for runtime IDs, a hash for others; fixed local unicast MACs', async (t) => {
  t.equal(hostVethName(CONTAINER), 'veth3f1e2d4c5b6');
  const odd = hostVethName('ctr-abc-1');
  t.match(odd, /^veth[0-9a-f]{11}$/);
  t.not(odd, hostVethName('ctr-abc-2'), 'different IDs, different names');
  t.ok(hostVethName('x'.repeat(200)).length <= 15);
  const macs = vethMacs(CONTAINER);
  t.match(macs.pod, /^0a(:[0-9a-f]{2}){5}$/);
  t.equal(macs.node, macs.pod.replace(/^0a/, '0e'));
  t.same(vethMacs(CONTAINER), macs, 'the same every time');
});

t.test('ADD: veth pair, routes in the pod, routes and rules on the node; only links and rules have an undo', async (t) => {
  const { phases, hostVeth, skipped } = planUnderlay(facts(), empty());
  const { pod: podMac, node: nodeMac } = vethMacs(CONTAINER);
  t.equal(hostVeth, 'veth3f1e2d4c5b6');
  t.same(skipped, []);
  const byPurpose = phases.map((p) => [p.where, p.family ?? '-', p.steps.map((s) => s.run)]);
  t.same(byPurpose, [
    ['node', '-', [`link add veth3f1e2d4c5b6 address ${nodeMac} type veth peer name veth0 address ${podMac} netns /var/run/netns/cni-1234`, 'link set veth3f1e2d4c5b6 up']],
    ['pod', '-', ['link set veth0 up']],
    [
      'pod',
      4,
      [
        `neigh replace 10.6.0.2 lladdr ${nodeMac} dev veth0 nud permanent`,
        `neigh replace 192.168.0.2 lladdr ${nodeMac} dev veth0 nud permanent`,
        'route add 10.6.0.2/32 dev veth0 scope link src 10.6.0.5 proto 85 table main',
        'route add 192.168.0.2/32 dev veth0 scope link src 10.6.0.5 proto 85 table main',
        'route add 10.233.0.0/18 via 10.6.0.2 dev veth0 src 10.6.0.5 proto 85 table main',
        'route add 169.254.20.10/32 via 10.6.0.2 dev veth0 src 10.6.0.5 proto 85 table main',
      ],
    ],
    ['node', 4, []],
    [
      'node',
      4,
      [
        `neigh replace 10.6.0.5 lladdr ${podMac} dev veth3f1e2d4c5b6 nud permanent`,
        'route add 10.6.0.5/32 dev veth3f1e2d4c5b6 scope link src 10.6.0.2 proto 85 table 500',
        `rule add to 10.6.0.5/32 lookup 500 pref ${HOST_RULE_PREF} protocol 85`,
      ],
    ],
    [
      'pod',
      6,
      [
        `neigh replace fd00:6::2 lladdr ${nodeMac} dev veth0 nud permanent`,
        'route add fd00:6::2/128 dev veth0 proto 85 table main',
        'route add fd00:233::/112 via fd00:6::2 dev veth0 proto 85 table main',
      ],
    ],
    ['node', 6, []],
    [
      'node',
      6,
      [
        `neigh replace fd00:6::5 lladdr ${podMac} dev veth3f1e2d4c5b6 nud permanent`,
        'route add fd00:6::5/128 dev veth3f1e2d4c5b6 src fd00:6::2 proto 85 table 500',
        `rule add to fd00:6::5/128 lookup 500 pref ${HOST_RULE_PREF} protocol 85`,
      ],
    ],
  ]);
  const undos = phases.flatMap((p) => p.steps.filter((s) => s.undo !== undefined).map((s) => s.undo));
  t.same(undos, ['link del veth3f1e2d4c5b6', `rule del to 10.6.0.5/32 lookup 500 pref ${HOST_RULE_PREF}`, `rule del to fd00:6::5/128 lookup 500 pref ${HOST_RULE_PREF}`], 'everything else goes with the link');
  t.ok(phases.filter((p) => p.bestEffort).every((p) => p.where === 'node' && p.purpose.includes('stale')), 'only stale-rule removal is best effort');
});

t.test('the first NIC with its own table gets the veth routes there too; vethLinkAddress goes on veth0', async (t) => {
  const { phases } = planUnderlay(facts({ podAddresses: { 4: ['10.6.0.5'], 6: [] }, podTables: ['main', '101'], vethLinkAddress: '169.254.100.1' }), empty());
  const pod4 = phases.find((p) => p.where === 'pod' && p.family === 4)!.steps.map((s) => s.run);
  t.same(pod4.filter((r) => r.includes('table 101')), [
    'route add 10.6.0.2/32 dev veth0 scope link src 10.6.0.5 proto 85 table 101',
    'route add 192.168.0.2/32 dev veth0 scope link src 10.6.0.5 proto 85 table 101',
    'route add 10.233.0.0/18 via 10.6.0.2 dev veth0 src 10.6.0.5 proto 85 table 101',
    'route add 169.254.20.10/32 via 10.6.0.2 dev veth0 src 10.6.0.5 proto 85 table 101',
  ]);
  t.same(phases[1]!.steps.map((s) => s.run), ['link set veth0 up', 'addr add 169.254.100.1/32 dev veth0 scope link']);
  t.notOk(phases.some((p) => p.family === 6), 'an IPv4-only pod: nothing for IPv6');
});

t.test('what cannot be routed is said, not planned', async (t) => {
  const { phases, skipped } = planUnderlay(facts({ podAddresses: { 4: ['10.6.0.5'], 6: [] }, nodeAddresses: { 4: [], 6: ['fd00:6::2'] } }), empty());
  t.same(skipped, ['10.233.0.0/18, 169.254.20.10/32: the node has no IPv4 address', 'fd00:233::/112: eth0 has no IPv6 address']);
  t.same(phases.find((p) => p.where === 'pod' && p.family === 4)!.steps, []);
  t.same(phases.filter((p) => p.where === 'node' && p.family === 4).at(-1)!.steps.map((s) => s.run)[1], 'route add 10.6.0.5/32 dev veth3f1e2d4c5b6 scope link proto 85 table 500', 'no src without a node address');
});

t.test('stale rules: the coordinator\'s rules into the table whose destination has no route', async (t) => {
  const state = empty();
  state.rules[4] = [
    { priority: 1000, dst: '10.6.0.5', table: '500', protocol: '85' },
    { priority: 1000, dst: '10.6.0.9', table: '500', protocol: '85' },
    { priority: 1000, dst: '10.6.0.7', table: '500' },
  ];
  state.routes[4] = [{ dst: '10.6.0.9', protocol: '85' }];
  t.same(staleHostRules(state, 500, 4), ['rule del to 10.6.0.5 lookup 500 pref 1000'], "a live pod's rule and a rule of someone else stay");
  const plan = planUnderlay(facts(), state);
  t.same(plan.phases.find((p) => p.bestEffort && p.family === 4)!.steps.map((s) => s.run), ['rule del to 10.6.0.5 lookup 500 pref 1000'], 'ADD clears a stale rule for its own address before adding it');
});

t.test('node addresses: configured, or the node\'s global addresses with the source towards the pod first', async (t) => {
  t.same(nodeAddressesFromConfig(['fd00::2', '10.0.0.2', '10.0.0.3', '10.0.0.2']), { 4: ['10.0.0.2', '10.0.0.3'], 6: ['fd00::2'] });
  const links: ObservedLink[] = [
    { ifname: 'lo', flags: ['LOOPBACK', 'UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', scope: 'host' }] },
    { ifname: 'ens192', flags: ['UP'], addr_info: [{ family: 'inet', local: '192.168.0.2', scope: 'global' }, { family: 'inet6', local: 'fe80::1', scope: 'link' }] },
    {
      ifname: 'ens224',
      flags: ['UP'],
      addr_info: [
        { family: 'inet', local: '10.6.0.2', scope: 'global' },
        { family: 'inet6', local: 'fd00:6::2', scope: 'global' },
        { family: 'inet6', local: 'fd00:6::99', scope: 'global', temporary: true },
        { family: 'inet6', local: 'fd00:6::98', scope: 'global', tentative: true },
      ],
    },
    { ifname: 'ens256', flags: ['BROADCAST'], addr_info: [{ family: 'inet', local: '172.31.0.2', scope: 'global' }] },
    { ifname: 'docker0', flags: ['UP'], addr_info: [{ family: 'inet', local: '172.17.0.1', scope: 'global' }] },
    { ifname: 'kube-ipvs0', flags: ['UP'], addr_info: [{ family: 'inet', local: '10.233.0.1', scope: 'global' }] },
    { ifname: 'vethabc', flags: ['UP'], addr_info: [{ family: 'inet', local: '169.254.1.1', scope: 'global' }] },
  ];
  t.same(nodeAddressesFrom(links, { 4: '10.6.0.2' }), { 4: ['10.6.0.2', '192.168.0.2'], 6: ['fd00:6::2'] });
});

t.test('CHECK: nothing to say when all is there, each difference named otherwise', async (t) => {
  const f = facts({ podAddresses: { 4: ['10.6.0.5'], 6: [] } });
  const good = {
    hostLink: { ifname: 'veth3f1e2d4c5b6', flags: ['UP'] },
    hostRules: { 4: [{ priority: 1000, dst: '10.6.0.5', table: '500', protocol: '85' }], 6: [] },
    hostRoutes: { 4: [{ dst: '10.6.0.5', dev: 'veth3f1e2d4c5b6' }], 6: [] },
    podRoutes: {
      4: [{ dst: '10.6.0.2' }, { dst: '192.168.0.2' }, { dst: '10.233.0.0/18', gateway: '10.6.0.2' }, { dst: '169.254.20.10', gateway: '10.6.0.2' }],
      6: [],
    },
  };
  t.same(underlayProblems(f, good), []);
  t.same(underlayProblems(f, { ...good, hostLink: undefined }), ['the node has no link veth3f1e2d4c5b6 (the veth to veth0 in the pod)']);
  t.same(underlayProblems(f, { ...good, hostRules: { 4: [], 6: [] }, podRoutes: { 4: good.podRoutes[4].slice(0, 2), 6: [] } }), [
    'the node has no rule "to 10.6.0.5 lookup 500"',
    'the pod has no route to 10.233.0.0/18 via 10.6.0.2 through veth0',
    'the pod has no route to 169.254.20.10/32 via 10.6.0.2 through veth0',
  ]);
});
