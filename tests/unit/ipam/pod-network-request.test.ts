import t from 'tap';
import { ANNOTATION } from '../../../ipam/pod-annotations.js';
import { resolveInterfaceRequests, type InterfaceRequest, type PodNic, type RequestInputs } from '../../../ipam/pod-network-request.js';

const A = ANNOTATION;
const eth0: PodNic = { interface: 'eth0' };
const net1: PodNic = { interface: 'net1', network: 'ns/macvlan1', underpinIPAM: { ipv4: ['net-pool'], ipv6: ['net-pool6'] } };
const net2Other: PodNic = { interface: 'net2', network: 'ns/other' };
const net3Empty: PodNic = { interface: 'net3', network: 'ns/bare', underpinIPAM: { ipv4: [], ipv6: [] } };
const none = { ipv4: [], ipv6: [] };

function inputs(over: Partial<RequestInputs>): RequestInputs {
  return { podAnnotations: {}, namespaceAnnotations: {}, nics: [eth0], clusterDefaults: none, ...over };
}
const req = (iface: string, source: InterfaceRequest['source'], ipv4: string[], ipv6: string[] = [], extra: Partial<InterfaceRequest> = {}): InterfaceRequest => ({ interface: iface, ipv4, ipv6, source, ...extra });

t.test('source order: ippools > ippool > namespace > network > cluster default', async (t) => {
  const all = {
    podAnnotations: { [A.ippools]: '[{"interface":"eth0","ipv4":["from-ippools"]}]', [A.ippool]: '{"ipv4":["from-ippool"]}' },
    namespaceAnnotations: { [A.namespaceDefaultIPv4]: '["ns-pool"]', [A.namespaceDefaultIPv6]: '["ns-pool6"]' },
    clusterDefaults: { ipv4: ['cluster'], ipv6: ['cluster6'] },
  };
  const cases: Array<[name: string, over: Partial<RequestInputs>, expected: InterfaceRequest[]]> = [
    ['ippools wins', all, [req('eth0', 'ippools', ['from-ippools'])]],
    ['then ippool', { ...all, podAnnotations: { [A.ippool]: all.podAnnotations[A.ippool] } }, [req('eth0', 'ippool', ['from-ippool'])]],
    ['then namespace defaults', { ...all, podAnnotations: {} }, [req('eth0', 'namespace', ['ns-pool'], ['ns-pool6'])]],
    ['namespace default of one family only', { namespaceAnnotations: { [A.namespaceDefaultIPv6]: '["ns-pool6"]' }, clusterDefaults: all.clusterDefaults }, [req('eth0', 'namespace', [], ['ns-pool6'])]],
    ['empty namespace lists fall through', { namespaceAnnotations: { [A.namespaceDefaultIPv4]: '[]' }, clusterDefaults: all.clusterDefaults }, [req('eth0', 'cluster-default', ['cluster'], ['cluster6'])]],
    ['then the network IPAM config', { nics: [eth0, net1], clusterDefaults: all.clusterDefaults }, [req('eth0', 'cluster-default', ['cluster'], ['cluster6']), req('net1', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' })]],
    ['namespace defaults beat the network config', { nics: [eth0, net1], namespaceAnnotations: all.namespaceAnnotations }, [req('eth0', 'namespace', ['ns-pool'], ['ns-pool6']), req('net1', 'namespace', ['ns-pool'], ['ns-pool6'], { network: 'ns/macvlan1' })]],
    ['then cluster defaults', { clusterDefaults: all.clusterDefaults }, [req('eth0', 'cluster-default', ['cluster'], ['cluster6'])]],
    ['cluster defaults for an Underpin network without pools', { nics: [eth0, net3Empty], clusterDefaults: { ipv4: ['c'], ipv6: [] } }, [req('eth0', 'cluster-default', ['c']), req('net3', 'cluster-default', ['c'], [], { network: 'ns/bare' })]],
    ['nothing at all: eth0 is not Underpin\'s', {}, []],
    ['ippool with cleangateway and interface', { nics: [eth0, net1], podAnnotations: { [A.ippool]: '{"interface":"net1","ipv6":["p6"],"cleangateway":true}' } }, [req('net1', 'ippool', [], ['p6'], { network: 'ns/macvlan1', cleanGateway: true })]],
    ['ippool on eth0, network config on net1', { nics: [eth0, net1], podAnnotations: { [A.ippool]: '{"ipv4":["p"]}' } }, [req('eth0', 'ippool', ['p']), req('net1', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' })]],
  ];
  for (const [name, over, expected] of cases) t.same(resolveInterfaceRequests(inputs(over)), { ok: true, value: expected }, name);
});

t.test('ippools: interface on all or none, list order = NIC order', async (t) => {
  const nics = [eth0, net1, net2Other];
  const cases: Array<[name: string, value: string, expected: InterfaceRequest[] | RegExp]> = [
    ['none named: list order', '[{"ipv4":["a"]},{"ipv6":["b6"],"cleangateway":false}]', [req('eth0', 'ippools', ['a']), req('net1', 'ippools', [], ['b6'], { network: 'ns/macvlan1', cleanGateway: false })]],
    ['all named, any order; output in NIC order', '[{"interface":"net2","ipv4":["c"]},{"interface":"eth0","ipv4":["a"]}]', [req('eth0', 'ippools', ['a']), req('net1', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' }), req('net2', 'ippools', ['c'], [], { network: 'ns/other' })]],
    ['annotation makes a NIC of another IPAM Underpin\'s', '[{"interface":"net2","ipv4":["c"]}]', [req('net1', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' }), req('net2', 'ippools', ['c'], [], { network: 'ns/other' })]],
    ['some named', '[{"interface":"eth0","ipv4":["a"]},{"ipv4":["b"]}]', /set "interface" on every entry or on none \(then entries follow the NIC order eth0, net1, net2\)/],
    ['more entries than NICs', '[{"ipv4":["a"]},{"ipv4":["b"]},{"ipv4":["c"]},{"ipv4":["d"]}]', /entry \[3\] has no NIC; the pod has 3 \(eth0, net1, net2\)/],
    ['unknown NIC', '[{"interface":"net9","ipv4":["a"]}]', /interface "net9" is not a NIC of this pod \(it has eth0, net1, net2\); attach it with k8s\.v1\.cni\.cncf\.io\/networks/],
    ['duplicate', '[{"interface":"net1","ipv4":["a"]},{"interface":"net1","ipv4":["b"]}]', /interface "net1" is listed twice/],
    ['entry without pools', '[{"interface":"eth0"}]', /entry for "eth0" names no ipv4 or ipv6 pool/],
    ['empty list', '[]', /^annotation ipam\.spidernet\.io\/ippools: must list at least one interface/],
    ['bad JSON', 'x', /^annotation ipam\.spidernet\.io\/ippools: not valid JSON/],
  ];
  for (const [name, value, expected] of cases) {
    const got = resolveInterfaceRequests(inputs({ nics, podAnnotations: { [A.ippools]: value } }));
    if (expected instanceof RegExp) {
      t.notOk(got.ok, name);
      if (!got.ok) t.match(got.error, expected, name);
    } else t.same(got, { ok: true, value: expected }, name);
  }
});

t.test('NICs that are not Underpin\'s, decidedElsewhere, and errors', async (t) => {
  const defaults = { clusterDefaults: { ipv4: ['c'], ipv6: [] } };
  const eth0OtherNad: PodNic = { interface: 'eth0', network: 'kube-system/calico' };
  const cases: Array<[name: string, over: Partial<RequestInputs>, expected: InterfaceRequest[] | RegExp]> = [
    ['Multus NIC of another IPAM skipped', { ...defaults, nics: [eth0, net2Other] }, [req('eth0', 'cluster-default', ['c'])]],
    ['eth0 on a default network of another IPAM skipped', { ...defaults, nics: [eth0OtherNad] }, []],
    ['eth0 on a default network with Underpin IPAM', { nics: [{ ...net1, interface: 'eth0' }] }, [req('eth0', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' })]],
    ['decidedElsewhere skips the NIC', { ...defaults, nics: [eth0, net1], decidedElsewhere: new Set(['eth0']) }, [req('net1', 'network', ['net-pool'], ['net-pool6'], { network: 'ns/macvlan1' })]],
    ['decidedElsewhere wins over an annotation', { nics: [eth0, net1], podAnnotations: { [A.ippools]: '[{"ipv4":["a"]},{"ipv4":["b"]}]' }, decidedElsewhere: new Set(['net1']) }, [req('eth0', 'ippools', ['a'])]],
    ['decidedElsewhere NIC may lack pools', { nics: [eth0, net3Empty], decidedElsewhere: new Set(['net3']) }, []],
    ['Underpin network with no pools', { nics: [eth0, net3Empty] }, /^interface net3 uses network ns\/bare with Underpin IPAM, but no pool is named for it: set ipam\.spidernet\.io\/ippools, a namespace default/],
    ['ippool on a NIC the pod lacks', { podAnnotations: { [A.ippool]: '{"interface":"net1","ipv4":["p"]}' } }, /^annotation ipam\.spidernet\.io\/ippool: interface "net1" is not a NIC of this pod \(it has eth0\)/],
    ['ippool without pools', { podAnnotations: { [A.ippool]: '{"ipv4":[]}' } }, /ippool: names no ipv4 or ipv6 pool; e\.g\./],
    ['bad namespace default', { namespaceAnnotations: { [A.namespaceDefaultIPv6]: '{"a":1}' } }, /^namespace annotation ipam\.spidernet\.io\/default-ipv6-ippool: /],
    ['cluster network of another CNI: its eth0 takes no default pool', { ...defaults, nics: [eth0, net3Empty], clusterNetworkIsUnderpin: false }, [req('net3', 'cluster-default', ['c'], [], { network: 'ns/bare' })]],
    ['… nor a namespace default', { namespaceAnnotations: { [A.namespaceDefaultIPv4]: '["ns-pool"]' }, clusterNetworkIsUnderpin: false }, []],
    ['… but an annotation still names pools for it', { podAnnotations: { [A.ippool]: '{"ipv4":["p"]}' }, clusterNetworkIsUnderpin: false }, [req('eth0', 'ippool', ['p'])]],
  ];
  for (const [name, over, expected] of cases) {
    const got = resolveInterfaceRequests(inputs(over));
    if (expected instanceof RegExp) {
      t.notOk(got.ok, name);
      if (!got.ok) t.match(got.error, expected, name);
    } else t.same(got, { ok: true, value: expected }, name);
  }
});
