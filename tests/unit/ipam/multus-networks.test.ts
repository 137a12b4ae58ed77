// The NICs a pod asks Multus for: both annotation forms, namespaces, and Multus's
// interface numbering (net<N> for the Nth attachment without a name).
import t from 'tap';
import { interfaceNameProblem, readMultusNetworks, type PodNetworkAttachment } from '../../../ipam/multus-networks.js';

const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const DEFAULT = 'v1.multus-cni.io/default-network';
const NETWORKS_EXAMPLE = 'e.g. "macvlan-a, kube-system/macvlan-b@net5" or [{"name":"macvlan-a","namespace":"kube-system","interface":"net1"}]';
const DEFAULT_EXAMPLE = 'e.g. "kube-system/macvlan-main" or [{"name":"macvlan-main","namespace":"kube-system"}]';

const nic = (iface: string, namespace: string, name: string): PodNetworkAttachment => ({ interface: iface, network: { namespace, name } });

t.test('interfaceNameProblem: Linux interface names', async (t) => {
  const cases: Array<[name: string, expected: string | undefined]> = [
    ['eth0', undefined],
    ['net1', undefined],
    ['a', undefined],
    ['vlan100.eth1', undefined],
    ['x'.repeat(15), undefined],
    ['my_nic-1', undefined],
    ['', 'is empty'],
    ['x'.repeat(16), 'is 16 bytes long; Linux allows at most 15'],
    ['ééééééééé', 'is 18 bytes long; Linux allows at most 15'],
    ['.', 'is not a name ("." and ".." are reserved)'],
    ['..', 'is not a name ("." and ".." are reserved)'],
    ['net/1', 'contains "/"'],
    ['eth0:1', 'contains ":"'],
    ['net 1', 'contains whitespace'],
    ['net\t1', 'contains whitespace'],
    ['net1\n', 'contains whitespace'],
    ['net%d', 'contains "%", which the kernel replaces with a number'],
  ];
  for (const [name, expected] of cases) t.equal(interfaceNameProblem(name), expected, JSON.stringify(name));
});

t.test('readMultusNetworks: valid annotations, NIC order and names', async (t) => {
  const cases: Array<[title: string, annotations: Record<string, string>, expected: PodNetworkAttachment[]]> = [
    ['no annotations', {}, []],
    ['unrelated annotations', { 'ipam.spidernet.io/ippool': '{"ipv4":["a"]}' }, []],
    ['empty networks annotation is no networks', { [NETWORKS]: '' }, []],
    ['one short name, in the pod namespace', { [NETWORKS]: 'macvlan-a' }, [nic('net1', 'web', 'macvlan-a')]],
    [
      'short form: comma-separated, whitespace trimmed, numbered in order',
      { [NETWORKS]: ' net-a ,kube-system/net-b,   net-c ' },
      [nic('net1', 'web', 'net-a'), nic('net2', 'kube-system', 'net-b'), nic('net3', 'web', 'net-c')],
    ],
    [
      'short form: @ifname, and positional numbering counts named attachments too',
      { [NETWORKS]: 'net-a, kube-system/net-b@eth5, net-c' },
      [nic('net1', 'web', 'net-a'), nic('eth5', 'kube-system', 'net-b'), nic('net3', 'web', 'net-c')],
    ],
    [
      'a named first attachment does not shift the numbers of the others',
      { [NETWORKS]: 'net-a@eth9, net-b' },
      [nic('eth9', 'web', 'net-a'), nic('net2', 'web', 'net-b')],
    ],
    ['spaces around / and @ are trimmed, as Multus does', { [NETWORKS]: 'kube-system / net-b @ eth5' }, [nic('eth5', 'kube-system', 'net-b')]],
    ['the same network twice, two NICs', { [NETWORKS]: 'net-a,net-a' }, [nic('net1', 'web', 'net-a'), nic('net2', 'web', 'net-a')]],
    [
      'an explicit name equal to a later attachment\'s own number is fine when that one is named too',
      { [NETWORKS]: 'net-a@net2, net-b@net1' },
      [nic('net2', 'web', 'net-a'), nic('net1', 'web', 'net-b')],
    ],
    [
      'JSON form',
      { [NETWORKS]: '[{"name":"net-a","namespace":"kube-system","interface":"net1"},{"name":"net-b"},{"name":"net-c","interface":"ens2f0"}]' },
      [nic('net1', 'kube-system', 'net-a'), nic('net2', 'web', 'net-b'), nic('ens2f0', 'web', 'net-c')],
    ],
    ['JSON form: dotted names are allowed', { [NETWORKS]: '[{"name":"sriov.pf1"}]' }, [nic('net1', 'web', 'sriov.pf1')]],
    ['JSON form: other Multus fields are ignored', { [NETWORKS]: '[{"name":"net-a","ips":["10.0.0.5/24"],"mac":"02:00:00:00:00:01","default-route":["10.0.0.1"]}]' }, [nic('net1', 'web', 'net-a')]],
    ['JSON form: the pre-3.2 "interfaceRequest" spelling', { [NETWORKS]: '[{"name":"net-a","interfaceRequest":"ib0"}]' }, [nic('ib0', 'web', 'net-a')]],
    ['JSON form: "interface" wins over "interfaceRequest"', { [NETWORKS]: '[{"name":"net-a","interface":"net7","interfaceRequest":"ib0"}]' }, [nic('net7', 'web', 'net-a')]],
    ['JSON form: empty list', { [NETWORKS]: '[]' }, []],
    ['default network: name, in Multus\'s namespace', { [DEFAULT]: 'macvlan-main' }, [nic('eth0', 'kube-system', 'macvlan-main')]],
    ['default network: namespace/name', { [DEFAULT]: 'team-a/macvlan-main' }, [nic('eth0', 'team-a', 'macvlan-main')]],
    ['default network: JSON form', { [DEFAULT]: '[{"name":"macvlan-main","namespace":"team-a"}]' }, [nic('eth0', 'team-a', 'macvlan-main')]],
    ['default network: JSON form without namespace', { [DEFAULT]: '[{"name":"macvlan-main"}]' }, [nic('eth0', 'kube-system', 'macvlan-main')]],
    ['default network: an explicit eth0 is fine', { [DEFAULT]: 'macvlan-main@eth0' }, [nic('eth0', 'kube-system', 'macvlan-main')]],
    [
      'default network first, then the others; numbering starts at net1',
      { [NETWORKS]: 'net-a, net-b', [DEFAULT]: 'kube-system/macvlan-main' },
      [nic('eth0', 'kube-system', 'macvlan-main'), nic('net1', 'web', 'net-a'), nic('net2', 'web', 'net-b')],
    ],
  ];
  for (const [title, annotations, expected] of cases) t.same(readMultusNetworks(annotations, 'web'), { ok: true, value: expected }, title);

  t.same(
    readMultusNetworks({ [DEFAULT]: 'macvlan-main' }, 'web', { multusNamespace: 'multus' }),
    { ok: true, value: [nic('eth0', 'multus', 'macvlan-main')] },
    'default network: Multus configured with another multusNamespace',
  );
});

t.test('readMultusNetworks: errors name the annotation, quote the bad part and show a valid value', async (t) => {
  const n = (message: string) => `annotation ${NETWORKS}: ${message}; ${NETWORKS_EXAMPLE}`;
  const d = (message: string) => `annotation ${DEFAULT}: ${message}; ${DEFAULT_EXAMPLE}`;
  const labelRule = 'lower-case letters, digits and "-", starting and ending with a letter or digit (the short form allows no "."; use the JSON form for dotted names)';
  const cases: Array<[title: string, annotations: Record<string, string>, error: string]> = [
    ['empty item (trailing comma)', { [NETWORKS]: 'net-a,' }, n('"" has an empty network name')],
    ['empty item in the middle', { [NETWORKS]: 'net-a,,net-b' }, n('"" has an empty network name')],
    ['only whitespace', { [NETWORKS]: '  ' }, n('"" has an empty network name')],
    ['namespace without name', { [NETWORKS]: 'kube-system/' }, n('"kube-system/" has an empty network name')],
    ['empty namespace', { [NETWORKS]: '/net-a' }, n('"/net-a" has an empty namespace before "/"; write the namespace or drop the "/"')],
    ['two slashes', { [NETWORKS]: 'a/b/c' }, n('"a/b/c" has more than one "/"; write namespace/name@interface')],
    ['two @', { [NETWORKS]: 'net-a@net1@net2' }, n('"net-a@net1@net2" has more than one "@"; write namespace/name@interface')],
    ['@ with an empty interface', { [NETWORKS]: 'kube-system/net-b@' }, n('"kube-system/net-b@" has an empty interface name after "@"; write one (e.g. "net-b@net1") or drop the "@"')],
    ['@ with only spaces', { [NETWORKS]: 'net-b@  ' }, n('"net-b@" has an empty interface name after "@"; write one (e.g. "net-b@net1") or drop the "@"')],
    ['upper-case name', { [NETWORKS]: 'Net-A' }, n(`"Net-A": network name "Net-A" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
    ['dotted name in the short form (Multus rejects it)', { [NETWORKS]: 'sriov.pf1' }, n(`"sriov.pf1": network name "sriov.pf1" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
    ['name ending in -', { [NETWORKS]: 'net-' }, n(`"net-": network name "net-" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
    ['underscore', { [NETWORKS]: 'net_a' }, n(`"net_a": network name "net_a" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
    ['bad namespace', { [NETWORKS]: 'Kube_System/net-a' }, n('"Kube_System/net-a": "Kube_System" is not a namespace name; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit')],
    ['namespace too long', { [NETWORKS]: `${'n'.repeat(64)}/net-a` }, n(`"${'n'.repeat(64)}/net-a": "${'n'.repeat(64)}" is not a namespace name; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit`)],
    ['interface too long', { [NETWORKS]: 'net-a@averyveryverylongnic' }, n('"net-a@averyveryverylongnic": interface "averyveryverylongnic" is 20 bytes long; Linux allows at most 15; use a name such as "net1"')],
    ['interface of 16 characters', { [NETWORKS]: 'net-a@abcdefghijklmnop' }, n('"net-a@abcdefghijklmnop": interface "abcdefghijklmnop" is 16 bytes long; Linux allows at most 15; use a name such as "net1"')],
    ['interface with whitespace inside', { [NETWORKS]: 'net-a@net 1' }, n('"net-a@net 1": interface "net 1" contains whitespace; use a name such as "net1"')],
    ['interface with a colon', { [NETWORKS]: 'net-a@eth0:1' }, n('"net-a@eth0:1": interface "eth0:1" contains ":"; use a name such as "net1"')],
    ['malformed JSON', { [NETWORKS]: '[{"name":"net-a"' }, `annotation ${NETWORKS}: not valid JSON (`],
    ['JSON object instead of a list', { [NETWORKS]: '{"name":"net-a"}' }, `annotation ${NETWORKS}: Invalid input: expected array, received object; e.g. [{"name":"macvlan-net1","namespace":"kube-system","interface":"net1"}]`],
    ['JSON: name missing', { [NETWORKS]: '[{"namespace":"kube-system"}]' }, `annotation ${NETWORKS}: [0].name: Invalid input: expected string, received undefined; e.g. [{"name":"macvlan-net1","namespace":"kube-system","interface":"net1"}]`],
    ['JSON: empty name', { [NETWORKS]: '[{"name":""}]' }, `annotation ${NETWORKS}: [0].name: Too small: expected string to have >=1 characters; e.g. [{"name":"macvlan-net1","namespace":"kube-system","interface":"net1"}]`],
    ['JSON: empty interface', { [NETWORKS]: '[{"name":"net-a","interface":""}]' }, `annotation ${NETWORKS}: [0].interface: Too small: expected string to have >=1 characters; e.g. [{"name":"macvlan-net1","namespace":"kube-system","interface":"net1"}]`],
    ['JSON: bad name', { [NETWORKS]: '[{"name":"Net.A"}]' }, n('entry [0] (name "Net.A"): network name "Net.A" is not a NetworkAttachmentDefinition name; use a DNS subdomain: lower-case letters, digits, "-" and ".", each part starting and ending with a letter or digit')],
    ['JSON: bad namespace', { [NETWORKS]: '[{"name":"net-a","namespace":"kube.system"}]' }, n('entry [0] (name "net-a"): "kube.system" is not a namespace name; use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit')],
    ['JSON: interface too long', { [NETWORKS]: '[{"name":"a"},{"name":"net-b","interface":"sixteen-chars-ab"}]' }, n('entry [1] (name "net-b"): interface "sixteen-chars-ab" is 16 bytes long; Linux allows at most 15; use a name such as "net1"')],
    ['JSON: interface with /', { [NETWORKS]: '[{"name":"net-a","interface":"a/b"}]' }, n('entry [0] (name "net-a"): interface "a/b" contains "/"; use a name such as "net1"')],
    ['same interface twice', { [NETWORKS]: 'net-a@net5, net-b@net5' }, n('"net-b@net5" asks for interface "net5", which "net-a@net5" already has; give it another interface name')],
    ['explicit eth0 collides with the default network', { [NETWORKS]: 'net-a@eth0' }, n('"net-a@eth0" asks for interface "eth0", which the default network (eth0) already has; give it another interface name')],
    [
      'explicit eth0 collides with the annotated default network',
      { [DEFAULT]: 'macvlan-main', [NETWORKS]: '[{"name":"net-a","interface":"eth0"}]' },
      n('entry [0] (name "net-a") asks for interface "eth0", which the default network kube-system/macvlan-main (eth0) already has; give it another interface name'),
    ],
    [
      'an explicit name taking a later attachment\'s number',
      { [NETWORKS]: 'net-a@net2, net-b' },
      n('"net-b" has no interface name, so Multus names it "net2" by its position (attachment 2), which "net-a@net2" already has; name its interface explicitly, e.g. "net-b@net3"'),
    ],
    [
      'a later explicit name taking an earlier attachment\'s number',
      { [NETWORKS]: 'net-a, net-b@net1' },
      n('"net-b@net1" asks for interface "net1", which "net-a" already has; give it another interface name'),
    ],
    [
      'JSON: the suggested free name skips names already taken',
      { [NETWORKS]: '[{"name":"a","interface":"net2"},{"name":"b"},{"name":"c","interface":"net3"}]' },
      n('entry [1] (name "b") has no interface name, so Multus names it "net2" by its position (attachment 2), which entry [0] (name "a") already has; name its interface explicitly, e.g. "interface":"net4"'),
    ],
    ['default network: empty', { [DEFAULT]: '' }, d('is empty; name the network or remove the annotation')],
    ['default network: blank', { [DEFAULT]: ' ' }, d('is empty; name the network or remove the annotation')],
    ['default network: two networks', { [DEFAULT]: 'net-a, net-b' }, d('names 2 networks; the default network is exactly one')],
    ['default network: empty JSON list', { [DEFAULT]: '[]' }, d('names 0 networks; the default network is exactly one')],
    ['default network: another interface', { [DEFAULT]: 'macvlan-main@net0' }, d('"macvlan-main@net0": the default network is always eth0; remove the interface name "net0"')],
    ['default network: bad name', { [DEFAULT]: 'Main' }, d(`"Main": network name "Main" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
    ['default network: malformed JSON', { [DEFAULT]: '[{' }, `annotation ${DEFAULT}: not valid JSON (`],
    ['default network errors come before networks errors', { [DEFAULT]: 'Main', [NETWORKS]: 'Net' }, d(`"Main": network name "Main" is not a NetworkAttachmentDefinition name; use ${labelRule}`)],
  ];
  for (const [title, annotations, error] of cases) {
    const result = readMultusNetworks(annotations, 'web');
    if (result.ok) {
      t.fail(`${title}: accepted as ${JSON.stringify(result.value)}`);
      continue;
    }
    if (error.endsWith('(')) t.ok(result.error.startsWith(error) && result.error.includes('; e.g. '), `${title}: ${result.error}`);
    else t.equal(result.error, error, title);
  }
});
