// What Spiderpool's own CRDs declare for the four IPAM kinds Underpin serves, as data:
// printer columns and field paths, read from spidernet-io/spiderpool
// charts/spiderpool/crds/spiderpool.spidernet.io_{spiderippools,spidersubnets,
// spiderreservedips,spiderendpoints}.yaml — the current version (after v1.0, which
// removed spec.vlan from pools and subnets) and the pre-1.0 one (v0.9, with it).
// The compatibility test checks Underpin's manifests/crds against these lists, so a
// Spiderpool manifest of either version applies and `kubectl get` prints the same.

export interface PrinterColumn {
  name: string;
  jsonPath: string;
  type: string;
  /** 0 when the CRD leaves it out. */
  priority: number;
}

export interface UpstreamCrd {
  /** File under manifests/crds. */
  file: string;
  kind: string;
  columns: PrinterColumn[];
  /** Field paths under the schema's root (`spec.ips`, `status.current.ips[].vlan`): present in every version. */
  fields: string[];
  /** Spec fields of pre-1.0 manifests only (removed by v1.0). */
  preV1Only: string[];
  /** Where upstream requires fields: object path ('' for the root) → the required names. */
  required: Record<string, string[]>;
}

const column = (name: string, jsonPath: string, type: string, priority = 0): PrinterColumn => ({ name, jsonPath, type, priority });

const selector = (field: string) => [
  `${field}.matchLabels`,
  `${field}.matchExpressions`,
  `${field}.matchExpressions[].key`,
  `${field}.matchExpressions[].operator`,
  `${field}.matchExpressions[].values`,
];

const routes = (field: string) => [field, `${field}[].dst`, `${field}[].gw`];

export const UPSTREAM_CRDS: UpstreamCrd[] = [
  {
    file: 'spiderippools.yaml',
    kind: 'SpiderIPPool',
    columns: [
      column('VERSION', '.spec.ipVersion', 'string'),
      column('SUBNET', '.spec.subnet', 'string'),
      column('ALLOCATED-IP-COUNT', '.status.allocatedIPCount', 'integer'),
      column('TOTAL-IP-COUNT', '.status.totalIPCount', 'integer'),
      column('DEFAULT', '.spec.default', 'boolean'),
      column('DISABLE', '.spec.disable', 'boolean', 10),
      column('NodeName', '.spec.nodeName', 'string', 10),
      column('MultusName', '.spec.multusName', 'string', 10),
      column('APP-NAMESPACE', ".spec.podAffinity.matchLabels['ipam\\.spidernet\\.io/app\\-namespace']", 'string', 10),
    ],
    fields: [
      'spec.ipVersion', 'spec.subnet', 'spec.ips', 'spec.excludeIPs', 'spec.gateway',
      ...routes('spec.routes'),
      ...selector('spec.podAffinity'), ...selector('spec.namespaceAffinity'), 'spec.namespaceName',
      ...selector('spec.nodeAffinity'), 'spec.nodeName', 'spec.multusName', 'spec.default', 'spec.disable',
      'status.allocatedIPs', 'status.allocatedIPCount', 'status.totalIPCount',
      'status.ipMetaData.metadata', 'status.ipMetaData.observedGeneration', 'status.ipMetaData.readyIPCount', 'status.ipMetaData.unreadyIPCount',
      'status.parentNic.name', 'status.parentNic.mac',
    ],
    preV1Only: ['spec.vlan'],
    required: {
      spec: ['subnet'],
      'spec.routes[]': ['dst', 'gw'],
      'spec.podAffinity.matchExpressions[]': ['key', 'operator'],
      'spec.namespaceAffinity.matchExpressions[]': ['key', 'operator'],
      'spec.nodeAffinity.matchExpressions[]': ['key', 'operator'],
      'status.parentNic': ['name'],
    },
  },
  {
    file: 'spidersubnets.yaml',
    kind: 'SpiderSubnet',
    columns: [
      column('VERSION', '.spec.ipVersion', 'string'),
      column('SUBNET', '.spec.subnet', 'string'),
      column('ALLOCATED-IP-COUNT', '.status.allocatedIPCount', 'integer'),
      column('TOTAL-IP-COUNT', '.status.totalIPCount', 'integer'),
    ],
    fields: [
      'spec.ipVersion', 'spec.subnet', 'spec.ips', 'spec.excludeIPs', 'spec.gateway', ...routes('spec.routes'),
      'status.controlledIPPools', 'status.allocatedIPCount', 'status.totalIPCount',
    ],
    preV1Only: ['spec.vlan'],
    required: { spec: ['subnet'], 'spec.routes[]': ['dst', 'gw'] },
  },
  {
    file: 'spiderreservedips.yaml',
    kind: 'SpiderReservedIP',
    columns: [column('VERSION', '.spec.ipVersion', 'string')],
    fields: ['spec.ipVersion', 'spec.ips'],
    preV1Only: [],
    required: {},
  },
  {
    file: 'spiderendpoints.yaml',
    kind: 'SpiderEndpoint',
    columns: [
      column('INTERFACE', '.status.current.ips[0].interface', 'string'),
      column('IPV4POOL', '.status.current.ips[0].ipv4Pool', 'string'),
      column('IPV4', '.status.current.ips[0].ipv4', 'string'),
      column('IPV6POOL', '.status.current.ips[0].ipv6Pool', 'string'),
      column('IPV6', '.status.current.ips[0].ipv6', 'string'),
      column('NODE', '.status.current.node', 'string'),
    ],
    fields: [
      'status.current.uid', 'status.current.node',
      ...['interface', 'ipv4', 'ipv6', 'ipv4Pool', 'ipv6Pool', 'vlan', 'ipv4Gateway', 'ipv6Gateway', 'cleanGateway'].map((f) => `status.current.ips[].${f}`),
      ...routes('status.current.ips[].routes'),
      'status.ownerControllerType', 'status.ownerControllerName',
    ],
    preV1Only: [],
    required: {
      status: ['current', 'ownerControllerName', 'ownerControllerType'],
      'status.current': ['ips', 'node', 'uid'],
      'status.current.ips[]': ['interface'],
      'status.current.ips[].routes[]': ['dst', 'gw'],
    },
  },
];
