// Admission of SpiderMultusConfig: upstream's examples pass (with the warnings Underpin
// owes their users), every bad field is named with its value and the fix, all at once,
// and the rules against other objects (NAD-name clash, pool families) hold. Defaulting
// as upstream's mutating webhook, minus the coordinator block.
import t from 'tap';
import { formatProblems } from '../../../../ipam/field-problem.js';
import { defaultSpiderMultusConfig } from '../../../../ipam/multus-config/multus-config-defaults.js';
import { reviewSpiderMultusConfig, type MultusConfigContext, type MultusConfigVerdict } from '../../../../ipam/multus-config/multus-config-review.js';
import { SpiderMultusConfig } from '../../../../ipam/multus-config/spider-multus-config.js';
import { UPSTREAM_EXAMPLES } from './upstream-examples.js';

const POOLS: Record<string, 4 | 6> = { 'v4-a': 4, 'v4-b': 4, 'v6-a': 6 };
const context = (siblings: MultusConfigContext['siblings'] = []): MultusConfigContext => ({ siblings, poolFamily: (name) => POOLS[name] });
const smc = (spec: object, annotations?: Record<string, string>, name = 'net') => ({
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name, namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec,
});
const denial = (verdict: MultusConfigVerdict) => (verdict.allowed ? `(allowed)` : formatProblems(verdict.problems));
const create = (object: unknown, ctx = context()) => reviewSpiderMultusConfig('CREATE', object, undefined, ctx);

t.test('upstream\'s examples are admitted; ifacer users are told Underpin does not ship it', async (t) => {
  for (const [name, object] of Object.entries(UPSTREAM_EXAMPLES)) {
    const verdict = create(defaultSpiderMultusConfig(SpiderMultusConfig.parse(object)));
    t.ok(verdict.allowed, `${name}: ${denial(verdict)}`);
  }
  const vlan = create(UPSTREAM_EXAMPLES['ipvlan-ens192-vlan100']);
  t.same(vlan.allowed && vlan.warnings, [
    'SpiderMultusConfig kube-system/ipvlan-ens192-vlan100: the network starts with Spiderpool\'s "ifacer" plugin (it makes the VLAN sub-interface on the node), which Underpin does not install; install ifacer on the nodes, or make the interface on the nodes yourself and name it as the one master (e.g. "ens192.100") with vlanID 0',
  ]);
  const plain = create(UPSTREAM_EXAMPLES['macvlan-ens192']);
  t.same(plain.allowed && plain.warnings, [], 'a plain macvlan network: no warning');
});

t.test('a macvlan network with two pools of the right families is admitted', async (t) => {
  t.ok(create(smc({ cniType: 'macvlan', macvlan: { master: ['uplink0'], ippools: { ipv4: ['v4-a', 'v4-b'], ipv6: ['v6-a'] } } })).allowed);
  t.ok(create(smc({ cniType: 'macvlan', macvlan: { master: ['uplink0'], ippools: { ipv4: ['not-yet-created', 'rack-*'] } } })).allowed, 'unknown pools and globs: nothing to say yet');
});

t.test('bad fields: each named with its value and the fix, all at once', async (t) => {
  const verdict = create(
    smc({
      cniType: 'macvlan',
      macvlan: { master: ['eth1', 'eth2'], vlanID: 5000, mtu: -1, ippools: { ipv4: ['v6-a', ''], ipv6: ['v4-a'] } },
      ipvlan: { master: ['eth1'] },
      chainCNIJsonData: ['{"sysctl": {}}', 'not json'],
      coordinator: { podMACPrefix: '0b:1b', hijackCIDR: ['10.0.0.0/33'], hostRuleTable: 254, podRPFilter: 3, vethLinkAddress: '10.0.0.1' },
    }, { 'multus.spidernet.io/cr-name': 'Bad_Name', 'multus.spidernet.io/cni-version': '0.3.0' }),
  );
  t.equal(denial(verdict), [
    'metadata.annotations["multus.spidernet.io/cr-name"]: "Bad_Name" is not a valid NetworkAttachmentDefinition name (a DNS-1123 subdomain: lower-case letters, digits, \'-\' and \'.\', starting and ending with a letter or digit)',
    'metadata.annotations["multus.spidernet.io/cni-version"]: "0.3.0" is not a CNI version Underpin\'s plugins speak; use 0.3.1, 0.4.0, 1.0.0',
    'spec.ipvlan: is set, but spec.cniType is "macvlan"; remove spec.ipvlan, or set spec.cniType to "ipvlan"',
    'spec.macvlan.bond: is missing: 2 master interfaces are bonded into one; add bond: {name: "bond0", mode: 1}, or list one master',
    'spec.macvlan.vlanID: 5000 is outside 0 to 4094; use 0 for untagged or a VLAN ID from 1 to 4094',
    'spec.macvlan.mtu: -1 is negative; use 0 (the kernel\'s choice) or the MTU, e.g. 1500',
    'spec.macvlan.ippools.ipv4[0]: SpiderIPPool "v6-a" is an IPv6 pool; list it under spec.macvlan.ippools.ipv6, or name an IPv4 pool',
    'spec.macvlan.ippools.ipv4[1]: is empty; name a SpiderIPPool (or a glob of pool names, e.g. "rack1-*")',
    'spec.macvlan.ippools.ipv6[0]: SpiderIPPool "v4-a" is an IPv4 pool; list it under spec.macvlan.ippools.ipv4, or name an IPv6 pool',
    'spec.coordinator.hijackCIDR[0]: "10.0.0.0/33" is not a valid CIDR: prefix length 33 is more than 32 for IPv4; write a CIDR, e.g. "169.254.0.0/16"',
    'spec.coordinator.podMACPrefix: "0b:1b" is a multicast prefix (the first byte is odd); use an even first byte, e.g. "0a:1b"',
    'spec.coordinator.hostRuleTable: 254 is not a routing table the coordinator may use; pick 1 to 4294967294 other than 253, 254 and 255 (default 500)',
    'spec.coordinator.podRPFilter: 3 is not an rp_filter value; use 0 (off), 1 (strict), 2 (loose) or a negative number (leave as is)',
    'spec.coordinator.vethLinkAddress: "10.0.0.1" is not an IPv4 link-local address; write one in 169.254.0.0/16, e.g. "169.254.100.1"',
    'spec.chainCNIJsonData[0]: has no "type"; write one plugin\'s configuration as JSON, e.g. {"type": "tuning", "sysctl": {"net.core.somaxconn": "4096"}}',
    'spec.chainCNIJsonData[1]: is not valid JSON (Unexpected token \'o\', "not json" is not valid JSON); write one plugin\'s configuration as JSON, e.g. {"type": "tuning", "sysctl": {"net.core.somaxconn": "4096"}}',
  ].join('\n'));
});

t.test('the block of the cniType is required, and its master', async (t) => {
  t.equal(denial(create(smc({ cniType: 'macvlan' }))), 'spec.macvlan: is missing; spec.cniType "macvlan" is configured there, e.g. {master: ["eth1"]}');
  t.equal(denial(create(smc({ cniType: 'ipvlan', ipvlan: { master: [] } }))), 'spec.ipvlan.master: is empty; name the node interface the ipvlan NICs hang off, e.g. ["eth1"] (two or more with a bond)');
  t.equal(denial(create(smc({ cniType: 'macvlan', macvlan: { master: ['this-name-is-too-long'] } }))), 'spec.macvlan.master[0]: "this-name-is-too-long" is 21 bytes long; Linux allows at most 15; name a node interface, e.g. "eth1"');
  t.equal(denial(create(smc({ cniType: 'macvlan', macvlan: { master: ['a', 'b'], bond: { mode: 9 } } }))), [
    'spec.macvlan.bond.name: is empty; name the bond interface, e.g. "bond0"',
    'spec.macvlan.bond.mode: 9 is not a bonding mode; use 0 to 6 (e.g. 1, active-backup)',
  ].join('\n'));
  t.equal(denial(create(smc({ cniType: 'macvlan', macvlan: { master: ['enp129s0f1np1'], vlanID: 100 } }))), 'spec.macvlan.vlanID: the VLAN sub-interface would be named "enp129s0f1np1.100", which is 17 bytes long; Linux allows at most 15; use a shorter master or bond name');
  t.equal(denial(create(smc({ cniType: 'vlan', vlan: { master: ['eth1'] } }))), 'spec.vlan.vlanID: is missing; set the VLAN ID the NICs are tagged with, 1 to 4094');
  t.equal(denial(create(smc({ cniType: 'sriov', sriov: { minTxRateMbps: 100, maxTxRateMbps: 10 } }))), [
    'spec.sriov.resourceName: is empty; name the SR-IOV device plugin\'s resource, e.g. "spidernet.io/sriov_netdevice"',
    'spec.sriov.minTxRateMbps: 100 is above maxTxRateMbps 10; lower it or raise maxTxRateMbps',
  ].join('\n'));
  t.equal(denial(create(smc({ cniType: 'ovs', ovs: { bridge: 'br1', trunk: [{ minID: 20, maxID: 10 }, {}] } }))), [
    'spec.ovs.trunk[0].minID: 20 is above maxID 10; swap them',
    'spec.ovs.trunk[1]: is empty; give id, or minID and maxID',
  ].join('\n'));
  t.equal(denial(create(smc({ cniType: 'wifi' }))), 'spec.cniType: must be one of macvlan, ipvlan, vlan, sriov, ovs, ib-sriov, ipoib, custom');
});

t.test('customCNI must be a JSON CNI configuration', async (t) => {
  t.equal(denial(create(smc({ cniType: 'custom', customCNI: '{"cniVersion":"0.3.1"' }))).split(' (')[0], 'spec.customCNI: is not valid JSON');
  t.equal(denial(create(smc({ cniType: 'custom', customCNI: '{"cniVersion":"0.3.1","plugins":[{"master":"eth1"}]}' }))), 'spec.customCNI: has plugins[0] without a "type"; write the whole CNI configuration as JSON, e.g. {"cniVersion": "0.3.1", "name": "net", "type": "macvlan", "master": "eth1", "ipam": {"type": "spiderpool"}}');
  t.ok(create(smc({ cniType: 'custom', customCNI: '' })).allowed, 'empty: allowed, as upstream');
  t.equal(denial(create(smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] }, customCNI: '{}' }))), 'spec.customCNI: is set, but spec.cniType is "macvlan"; remove spec.customCNI, or set spec.cniType to "custom"');
});

t.test('cr-name: no other smc of the namespace renders that NAD, and it never changes', async (t) => {
  const mine = smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] } }, { 'multus.spidernet.io/cr-name': 'shared' }, 'b');
  t.equal(denial(create(mine, context([{ name: 'a', network: 'shared' }]))), 'metadata.annotations["multus.spidernet.io/cr-name"]: NetworkAttachmentDefinition default/shared is already rendered by SpiderMultusConfig "a"; set metadata.annotations["multus.spidernet.io/cr-name"] to another name');
  const plain = smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] } }, undefined, 'shared');
  t.equal(denial(create(plain, context([{ name: 'a', network: 'shared' }]))), 'metadata.name: NetworkAttachmentDefinition default/shared is already rendered by SpiderMultusConfig "a"; set metadata.annotations["multus.spidernet.io/cr-name"] to another name');
  t.ok(create(mine, context([{ name: 'b', network: 'shared' }])).allowed, 'itself is no clash');

  const renamed = smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] } }, { 'multus.spidernet.io/cr-name': 'other' }, 'b');
  t.equal(denial(reviewSpiderMultusConfig('UPDATE', renamed, mine, context())), 'metadata.annotations["multus.spidernet.io/cr-name"]: cannot change from "shared" to "other": the NetworkAttachmentDefinition\'s name is fixed once created; delete and re-create the SpiderMultusConfig to render the network under another name');
  const plainB = smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] } }, undefined, 'b');
  t.equal(denial(reviewSpiderMultusConfig('UPDATE', mine, plainB, context())), 'metadata.annotations["multus.spidernet.io/cr-name"]: cannot be added ("shared"): the NetworkAttachmentDefinition was created as "b"; delete and re-create the SpiderMultusConfig to render the network under another name');
  t.equal(denial(create(smc({ cniType: 'custom' }, { 'multus.spidernet.io/cr-name': '' }))), 'metadata.annotations["multus.spidernet.io/cr-name"]: is empty; name the NetworkAttachmentDefinition, or remove the annotation to use the SpiderMultusConfig\'s name');
  t.ok(reviewSpiderMultusConfig('DELETE', undefined, mine, context()).allowed);
});

t.test('defaults as upstream\'s webhook: per-type fields, enableCoordinator, disableIPAM; the coordinator is left to the SpiderCoordinator', async (t) => {
  const d = defaultSpiderMultusConfig(SpiderMultusConfig.parse(smc({ cniType: 'macvlan', macvlan: { master: ['eth1'], bond: { name: 'bond0', mode: 1 } } })));
  t.same(d.spec, { cniType: 'macvlan', macvlan: { master: ['eth1'], vlanID: 0, mtu: 0, bond: { name: 'bond0', mode: 1, options: '' }, ippools: { ipv4: [], ipv6: [] } }, disableIPAM: false, enableCoordinator: true });
  const custom = defaultSpiderMultusConfig(SpiderMultusConfig.parse(smc({ enableCoordinator: true })));
  t.same(custom.spec, { cniType: 'custom', enableCoordinator: false, disableIPAM: false, customCNI: '' }, 'custom: no coordinator (customCNI is rendered as written)');
  const sriov = defaultSpiderMultusConfig(SpiderMultusConfig.parse(smc({ cniType: 'sriov', sriov: { resourceName: 'r' } })));
  t.same(sriov.spec.sriov, { resourceName: 'r', vlanID: 0, minTxRateMbps: 0, maxTxRateMbps: 0, mtu: 0, ippools: { ipv4: [], ipv6: [] } });
  const ib = defaultSpiderMultusConfig(SpiderMultusConfig.parse(smc({ cniType: 'ib-sriov', ibsriov: { resourceName: 'r', ibKubernetesEnabled: true } })));
  t.same(ib.spec.ibsriov, { resourceName: 'r', ibKubernetesEnabled: true, pkey: '', linkState: 'enable', rdmaIsolation: true, enableIbKubernetes: true, ippools: { ipv4: [], ipv6: [] } }, 'the earlier name carries over');
  const withCoordinator = defaultSpiderMultusConfig(SpiderMultusConfig.parse(smc({ cniType: 'macvlan', macvlan: { master: ['eth1'] }, coordinator: { mode: 'underlay' } })));
  t.same(withCoordinator.spec.coordinator, { mode: 'underlay' }, 'unset coordinator fields stay unset');
  t.same(defaultSpiderMultusConfig(d), d, 'idempotent');
});
