// Workload admission judges a pod template exactly as pod admission judges a pod
// made from it: one case table run through both (a Deployment's admission, and its
// ReplicaSet's pod) gives the same verdicts and messages; only a pool too full for
// the pods is a warning for the workload where it refuses the pod. Then what only
// workloads have: warnings for replicas and surge, updates that keep the
// networking, scale, StatefulSet retention, dry run, and pools not written for a
// workload that is denied. The cluster is in memory.
import t from 'tap';
import { parseAddress, type Address, type IPFamily } from '../../../ipam/address.js';
import { AutoPoolSizer, type AutoPoolState, type AutoPoolWrite } from '../../../ipam/auto-pool-sizer.js';
import { MemoryClaimStore, type ClaimRequest } from '../../../ipam/claim-store.js';
import type { PoolView } from '../../../ipam/pool-candidates.js';
import { RangeSet } from '../../../ipam/range-set.js';
import { readUnderlayBlock } from '../../../ipam/underlay-block.js';
import { Workload } from '../../../ipam/workload.js';
import type { AdmissionDecision, AdmissionRequest } from '../../../webhook/admission-review.js';
import { PodAdmission, type PodAdmissionState } from '../../../webhook/pod-admission.js';
import { WorkloadAdmission } from '../../../webhook/workloads.js';
import { podCreateRequest } from '../../webhook/admission-requests.js';
import { poolView } from '../ipam/fixtures.js';
import type { NetworkView } from '../../../kube/pod-context-cache.js';

const SUBNETS = {
  'subnet-a': { subnet: '10.6.0.0/16', ips: ['10.6.0.10-10.6.0.200'] },
  'subnet-b': { subnet: '10.7.0.0/16', ips: ['10.7.0.10-10.7.0.200'] },
};
const NETWORKS: Record<string, NetworkView> = { 'kube-system/macvlan-net1': { key: 'kube-system/macvlan-net1', underpinIPAM: { ipv4: [], ipv6: [] } } };

function address(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(text);
  return parsed.value;
}

/** A cluster in memory: pools, subnets, claims (`held`: address → holder), one node. */
class Cluster {
  readonly pools = new Map<string, PoolView>();
  readonly written: AutoPoolWrite[] = [];
  readonly store = new MemoryClaimStore();
  private readonly held: ClaimRequest[] = [];

  constructor(pools: PoolView[], held: { address: string; pool: string; owner?: { kind: string; name: string }; ordinal?: number; iface?: string }[] = []) {
    for (const p of pools) this.pools.set(p.name, p);
    for (const h of held) {
      this.held.push({
        address: address(h.address),
        pool: h.pool,
        interface: h.iface ?? 'eth0',
        namespace: 'default',
        bindingID: `b-${h.address}`,
        ...(h.owner ? { owner: h.owner } : {}),
        ...(h.ordinal !== undefined ? { statefulSetOrdinal: h.ordinal } : {}),
      });
    }
  }

  private claims(): ClaimRequest[] {
    return [...this.held, ...this.store.held()];
  }

  podState(): PodAdmissionState {
    return {
      hasSynced: true,
      poolViews: () => this.pools,
      namespace: async (name) => ({ name, labels: { team: 'a' }, annotations: {} }),
      network: async (key) => NETWORKS[key],
      poolsFromAPI: async () => [],
      reservedSet: (family) => RangeSet.empty(family),
      isClaimed: (a) => this.claims().some((c) => c.address.family === a.family && c.address.value === a.value),
      claimsInPool: (pool) => this.claims().filter((c) => c.pool === pool).length,
      claimsOfPool: (pool) => this.claims().filter((c) => c.pool === pool).map((c) => ({ spec: { namespace: c.namespace, ...(c.owner ? { owner: c.owner } : {}) } })),
      claimsOfOrdinal: (namespace, sts, ordinal) =>
        this.held
          .filter((c) => c.owner?.kind === 'StatefulSet' && c.owner.name === sts && c.statefulSetOrdinal === ordinal && c.namespace === namespace)
          .map((c) => ({ name: c.bindingID, inUse: { address: c.address, pool: c.pool }, spec: { address: '', family: c.address.family, pool: c.pool, interface: c.interface, namespace, bindingID: c.bindingID }, bound: false })),
      autoPoolsFromAPI: async () => [],
      nodeLabels: async () => ({ rack: 'b' }),
      podExistsWithBindingID: async () => false,
      addressesLeavingPool: async (_pool, family: IPFamily) => RangeSet.empty(family),
      claimStore: this.store,
    };
  }

  poolState(): AutoPoolState {
    return {
      hasSynced: true,
      subnet: (name) => {
        const spec = SUBNETS[name as keyof typeof SUBNETS];
        const block = spec && readUnderlayBlock(spec).block;
        return block ? { holder: { kind: 'SpiderSubnet', name, cidr: block.cidr, usable: block.usable } } : undefined;
      },
      poolViews: () => this.pools,
      reservedSet: (family) => RangeSet.empty(family),
      inUse: () => undefined,
      countNodes: async () => 1,
      writePool: async (write) => {
        this.written.push(write);
        const spec = { subnet: write.subnet, ips: write.ips };
        this.pools.set(write.name, { name: write.name, spec, block: readUnderlayBlock(spec).block!, deleting: false, labels: write.labels });
      },
    };
  }

  workloadAdmission(): WorkloadAdmission {
    const pods = this.podState();
    return new WorkloadAdmission({ pools: this.poolState(), pods, readWorkload: async () => this.scaled }, { defaultExtraAddresses: 1, policy: {} });
  }

  /** What a scale request's parent read returns. */
  scaled: unknown;
}

const v4 = (name: string, ips = '10.6.1.1-10.6.1.9', extra: object = {}) => poolView(name, { subnet: '10.6.0.0/16', ips: [ips], ...extra });
const BASE_POOLS = () => [
  v4('pool-a'),
  v4('small', '10.6.2.1-10.6.2.2'),
  poolView('pool-v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::1-fd00:6::9'] }),
  v4('off', '10.6.3.1-10.6.3.9', { disable: true }),
  v4('team-b', '10.6.4.1-10.6.4.9', { podAffinity: { matchLabels: { team: 'b' } } }),
  v4('ns-prod', '10.6.5.1-10.6.5.9', { namespaceName: ['prod'] }),
  v4('net1-only', '10.6.6.1-10.6.6.9', { multusName: ['kube-system/macvlan-net1'] }),
  v4('rack-a', '10.6.7.1-10.6.7.9', { nodeAffinity: { matchLabels: { rack: 'a' } } }),
  poolView('pool-b', { subnet: '10.7.0.0/16', ips: ['10.7.1.1-10.7.1.9'] }),
];

interface Template {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  spec?: Record<string, unknown>;
}

const UID = '0a1b2c3d-0000-4000-8000-000000000001';

function deployment(template: Template, replicas = 1, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: UID },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', ...(template.labels ?? {}) }, ...(template.annotations ? { annotations: template.annotations } : {}) }, spec: { containers: [{ name: 'c', image: 'x' }], ...(template.spec ?? {}) } },
      ...extra,
    },
  };
}

/** The pod the ReplicaSet controller makes from the Deployment's template. */
function replicaSetPod(template: Template) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7d9f8c-',
      namespace: 'default',
      labels: { app: 'web', 'pod-template-hash': '7d9f8c', ...(template.labels ?? {}) },
      ...(template.annotations ? { annotations: template.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9f8c', uid: 'rs-uid', controller: true }],
    },
    spec: { containers: [{ name: 'c', image: 'x' }], ...(template.spec ?? {}) },
  };
}

function workloadRequest(kind: string, resource: string, object: unknown, fields: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const group = kind === 'Job' || kind === 'CronJob' ? 'batch' : 'apps';
  return {
    uid: `review-${Math.random()}`,
    kind: { group, version: 'v1', kind },
    resource: { group, version: 'v1', resource },
    namespace: 'default',
    name: 'web',
    operation: 'CREATE',
    userInfo: { username: 'tester' },
    object,
    ...fields,
  };
}

const createDeployment = (object: unknown, fields: Partial<AdmissionRequest> = {}) => workloadRequest('Deployment', 'deployments', object, fields);

const POD_PREFIX = 'pod default/web-7d9f8c-<generated>: ';
const DEPLOYMENT_PREFIX = 'Deployment default/web: ';

/** The verdict without whose it is: the pod's message and the workload's must be the same after their prefixes. */
function verdict(decision: AdmissionDecision, prefix: string): { allowed: boolean; message?: string } {
  if (decision.allowed) return { allowed: true };
  return { allowed: false, message: decision.message.startsWith(prefix) ? decision.message.slice(prefix.length) : `(unprefixed) ${decision.message}` };
}

const NET1 = { 'k8s.v1.cni.cncf.io/networks': 'kube-system/macvlan-net1@net1' };
const ippool = (pools: object) => ({ 'ipam.spidernet.io/ippool': JSON.stringify(pools) });
const ippools = (entries: object[]) => ({ 'ipam.spidernet.io/ippools': JSON.stringify(entries) });
const subnets = (entries: object[]) => ({ 'ipam.spidernet.io/subnets': JSON.stringify(entries) });

// [name, template, expected message after the prefix (undefined: admitted)]
const CASES: [string, Template, string | RegExp | undefined][] = [
  ['a pool that exists', { annotations: ippool({ ipv4: ['pool-a'] }) }, undefined],
  ['two NICs from named pools', { annotations: { ...NET1, ...ippools([{ interface: 'eth0', ipv4: ['pool-a'] }, { interface: 'net1', ipv4: ['pool-b'] }]) } }, undefined],
  ['two NICs with auto pools', { annotations: { ...NET1, ...subnets([{ interface: 'eth0', ipv4: ['subnet-a'] }, { interface: 'net1', ipv4: ['subnet-b'] }]) } }, undefined],
  ['no Underpin annotation and no default pool', {}, undefined],
  ['a pool that does not exist', { annotations: ippool({ ipv4: ['no-such-pool'] }) }, 'IPv4 pool "no-such-pool" for interface eth0 does not exist (named by annotation ipam.spidernet.io/ippool); create it or fix the name'],
  ['a glob that matches nothing', { annotations: ippool({ ipv4: ['nothing-*'] }) }, /^no IPv4 address for interface eth0: no pool matches nothing-\*; fix annotation ipam\.spidernet\.io\/ippool$/],
  ['a pool of the other family', { annotations: ippool({ ipv4: ['pool-v6'] }) }, /pool-v6 is IPv6, not IPv4/],
  ['a disabled pool', { annotations: ippool({ ipv4: ['off'] }) }, /off is disabled \(spec\.disable: true\)/],
  ['a pool whose podAffinity the pods do not match', { annotations: ippool({ ipv4: ['team-b'] }) }, /team-b spec\.podAffinity does not match the pod's labels/],
  ['a pool of other namespaces', { annotations: ippool({ ipv4: ['ns-prod'] }) }, /ns-prod serves namespaces prod only \(spec\.namespaceName\), not default/],
  ['a pool of another network', { annotations: ippool({ ipv4: ['net1-only'] }) }, /net1-only serves networks kube-system\/macvlan-net1 only \(spec\.multusName\), not the default network/],
  ['a nodeSelector the pool\'s nodeAffinity contradicts', { annotations: ippool({ ipv4: ['rack-a'] }), spec: { nodeSelector: { rack: 'b' } } }, /rack-a/],
  ['malformed JSON', { annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["pool-a"' } }, /^annotation ipam\.spidernet\.io\/ippool: not valid JSON/],
  ['malformed Multus networks', { annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name":' } }, /k8s\.v1\.cni\.cncf\.io\/networks/],
  ['ippools naming a NIC the template lacks', { annotations: ippools([{ interface: 'eth0', ipv4: ['pool-a'] }, { interface: 'net1', ipv4: ['pool-b'] }]) }, /^annotation ipam\.spidernet\.io\/ippools: entry \[1\]|interface "net1" is not a NIC of this pod/],
  ['subnets naming a NIC the template lacks', { annotations: subnets([{ interface: 'eth0', ipv4: ['subnet-a'] }, { interface: 'net1', ipv4: ['subnet-b'] }]) }, 'annotation ipam.spidernet.io/subnets: interface "net1" is not a NIC of this pod (it has eth0); attach it with k8s.v1.cni.cncf.io/networks or fix the name'],
  ['a route whose gateway is in none of the subnets', { annotations: { ...ippool({ ipv4: ['pool-a'] }), 'ipam.spidernet.io/routes': '[{"dst":"10.9.0.0/16","gw":"192.168.9.1"}]' } }, /routes\[0\]\.gw: 192\.168\.9\.1 is in none of the pod's subnets/],
];

t.test('one code path: a Deployment is judged as the pod its ReplicaSet would make', async (t) => {
  for (const [name, template, expected] of CASES) {
    const podSide = new Cluster(BASE_POOLS());
    const dep = Workload.parse(deployment(template));
    // The pod finds what the workload's admission made (its auto pools).
    await new AutoPoolSizer(podSide.poolState(), { defaultExtraAddresses: 1 }).size(dep, 'default');
    const pod = verdict(await new PodAdmission(podSide.podState(), { trustedUsers: [] }).mutate(podCreateRequest(replicaSetPod(template), { uid: `pod-${name}` })), POD_PREFIX);

    const workloadSide = new Cluster(BASE_POOLS());
    const decision = await workloadSide.workloadAdmission().validate(createDeployment(deployment(template)));
    const workload = verdict(decision, DEPLOYMENT_PREFIX);

    if (process.env.SHOW) console.log(name, '=>', JSON.stringify(decision));
    t.same(workload, pod, `${name}: the same verdict`);
    if (expected === undefined) {
      t.equal(pod.allowed, true, `${name}: admitted`);
      t.same(decision.allowed && decision.warnings, undefined, `${name}: no warning`);
    } else {
      t.equal(pod.allowed, false, `${name}: refused`);
      t.match(pod.message, expected, `${name}: the message`);
      t.same(workloadSide.written, [], `${name}: no auto pool written for a denied workload`);
      t.equal(workloadSide.store.held().length, 0, `${name}: no claim`);
    }
  }
});

t.test('a pool too full for one more pod refuses the pod, and warns the workload', async (t) => {
  const held = [{ address: '10.6.2.1', pool: 'small' }, { address: '10.6.2.2', pool: 'small', owner: { kind: 'ReplicaSet', name: 'other-5c6d7' } }];
  const template = { annotations: ippool({ ipv4: ['small'] }) };
  const pod = await new PodAdmission(new Cluster(BASE_POOLS(), held).podState(), { trustedUsers: [] }).mutate(podCreateRequest(replicaSetPod(template)));
  t.equal(pod.allowed, false);
  const decision = await new Cluster(BASE_POOLS(), held).workloadAdmission().validate(createDeployment(deployment(template, 2)));
  t.equal(decision.allowed, true, 'admitted: addresses may be freed');
  t.same(decision.allowed && decision.warnings, [
    `${DEPLOYMENT_PREFIX}2 replicas need 2 IPv4 addresses for interface eth0, but pool small has 0 for it (2 usable, 2 held by ReplicaSet default/other-5c6d7 (1), pods of namespace default without an owner (1)): 2 pods will be refused until addresses are freed or added (spec.ips of pool small, or another pool in annotation ipam.spidernet.io/ippool)`,
  ]);
  t.same(decision.findings, [{ verdict: 'warned', reason: 'replicas-exceed-pool' }], 'counted by reason');
});

t.test('replicas above the free addresses warn, counting what its own pods hold', async (t) => {
  const template = { annotations: ippool({ ipv4: ['small'] }) };
  const five = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(deployment(template, 5)));
  t.match(five.allowed && five.warnings, [/^Deployment default\/web: 5 replicas need 5 IPv4 addresses for interface eth0, but pool small has 2 for it \(2 usable, none held by other pods\): 3 pods will be refused/]);
  // Its own pods hold both addresses: 2 replicas fit (Recreate: no surge).
  const own = [{ address: '10.6.2.1', pool: 'small', owner: { kind: 'ReplicaSet', name: 'web-7d9f8c' } }, { address: '10.6.2.2', pool: 'small', owner: { kind: 'ReplicaSet', name: 'web-7d9f8c' } }];
  const fits = await new Cluster(BASE_POOLS(), own).workloadAdmission().validate(createDeployment(deployment(template, 2, { strategy: { type: 'Recreate' } })));
  t.same(fits, { allowed: true }, 'its own pods\' addresses are its own');
});

t.test('maxSurge above the spare warns; with maxUnavailable 0 it says the rollout cannot progress', async (t) => {
  const template = { annotations: ippool({ ipv4: ['small'] }) };
  const waits = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(deployment(template, 1, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } } })));
  t.same(waits.allowed && waits.warnings, [
    `${DEPLOYMENT_PREFIX}maxSurge 2 lets a rolling update add 2 pods before old ones go, but pool small has only 1 address to spare for interface eth0 (IPv4): new pods will wait for old pods' addresses; lower maxSurge to 1, or add addresses to the pool`,
  ]);
  const stuck = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(deployment(template, 2, { strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } })));
  t.match(stuck.allowed && stuck.warnings, [/has no address to spare for interface eth0 \(IPv4\): with maxUnavailable 0 no old pod goes first, so a rollout cannot progress/]);
  const defaults = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(deployment(template, 2)));
  t.match(defaults.allowed && defaults.warnings, [/^Deployment default\/web: maxSurge 25% lets a rolling update add 1 pod before old ones go, but pool small has no address to spare/], 'Kubernetes defaults: 25 % rounded up');
});

t.test('auto pools: a valid two-NIC Deployment of replicas + 1 is admitted silently, and its pools written', async (t) => {
  const cluster = new Cluster(BASE_POOLS());
  const template = { annotations: { ...NET1, ...subnets([{ interface: 'eth0', ipv4: ['subnet-a'] }, { interface: 'net1', ipv4: ['subnet-b'] }]), 'ipam.spidernet.io/ippool-ip-number': '+1' } };
  const decision = await cluster.workloadAdmission().validate(createDeployment(deployment(template, 2)));
  t.same(decision, { allowed: true });
  t.same(cluster.written.map((w) => [w.name, w.ips.length ? w.ips : []]), [
    ['auto4-web-eth0-0a1b2', ['10.6.0.10-10.6.0.12']],
    ['auto4-web-net1-0a1b2', ['10.7.0.10-10.7.0.12']],
  ]);
  const unknownSubnet = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(deployment({ annotations: subnets([{ interface: 'eth0', ipv4: ['subnet-x'] }]) })));
  t.match(unknownSubnet, { allowed: false, message: 'Deployment default/web: SpiderSubnet "subnet-x" (interface eth0, IPv4) does not exist; create it or fix ipam.spidernet.io/subnets' });
  const dry = new Cluster(BASE_POOLS());
  t.same(await dry.workloadAdmission().validate(createDeployment(deployment(template, 2), { dryRun: true })), { allowed: true }, 'dry run: the same answer');
  t.same(dry.written, [], 'dry run: nothing written');
});

t.test('an update that keeps the networking is warned, not refused, of a problem already there', async (t) => {
  const template = { annotations: ippool({ ipv4: ['gone'] }) };
  const old = deployment(template);
  const bumped = deployment(template);
  bumped.spec.template.spec.containers = [{ name: 'c', image: 'x:2' }];
  const decision = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(bumped, { operation: 'UPDATE', oldObject: old }));
  t.equal(decision.allowed, true, 'an image bump rolls out');
  t.match(decision.allowed && decision.warnings, [
    /^Deployment default\/web: IPv4 pool "gone" for interface eth0 does not exist .* \(admitted: this update leaves the pod template's networking as it was, but its new pods will be refused until this is fixed\)$/,
  ]);
  const renamed = deployment({ annotations: ippool({ ipv4: ['still-gone'] }) });
  const changed = await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(renamed, { operation: 'UPDATE', oldObject: old }));
  t.match(changed, { allowed: false, message: /^Deployment default\/web: IPv4 pool "still-gone" for interface eth0 does not exist/ }, 'an update that changes the networking is judged as a create');
  const labelled = { ...old, metadata: { ...old.metadata, labels: { tier: 'web' } } };
  t.same(await new Cluster(BASE_POOLS()).workloadAdmission().validate(createDeployment(labelled, { operation: 'UPDATE', oldObject: old })), { allowed: true }, 'an update its pods do not see is not judged');
});

t.test('kubectl scale: warned when the new replicas do not fit a manual pool', async (t) => {
  const cluster = new Cluster(BASE_POOLS());
  cluster.scaled = deployment({ annotations: ippool({ ipv4: ['small'] }) }, 1, { strategy: { type: 'Recreate' } });
  const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 4 } };
  const decision = await cluster.workloadAdmission().validate(
    workloadRequest('Scale', 'deployments', scale, { kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, subResource: 'scale', operation: 'UPDATE' }),
  );
  t.match(decision.allowed && decision.warnings, [/^Deployment default\/web: 4 replicas need 4 IPv4 addresses for interface eth0, but pool small has 2 for it/]);
});

t.test('StatefulSet: an ordinal whose kept address its pool no longer holds is a warning', async (t) => {
  const held = [
    { address: '10.6.1.1', pool: 'pool-a', owner: { kind: 'StatefulSet', name: 'db' }, ordinal: 0 },
    { address: '10.6.9.9', pool: 'pool-a', owner: { kind: 'StatefulSet', name: 'db' }, ordinal: 1 },
  ];
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', uid: UID },
    spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' }, annotations: ippool({ ipv4: ['pool-a'] }) }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
  const decision = await new Cluster(BASE_POOLS(), held).workloadAdmission().validate(workloadRequest('StatefulSet', 'statefulsets', sts, { name: 'db' }));
  t.same(decision.allowed && decision.warnings, [
    "StatefulSet default/db: pod db-1 keeps 10.6.9.9 for interface eth0 from pool pool-a, but pool-a no longer holds that address: the pod gets a new address when it is next created; put 10.6.9.9 back in pool-a's spec.ips to keep it",
  ]);
  const unknown = { ...sts, spec: { ...sts.spec, template: { ...sts.spec.template, metadata: { ...sts.spec.template.metadata, annotations: ippool({ ipv4: ['no-such-pool'] }) } } } };
  t.match(await new Cluster(BASE_POOLS()).workloadAdmission().validate(workloadRequest('StatefulSet', 'statefulsets', unknown, { name: 'db' })), {
    allowed: false,
    message: /^StatefulSet default\/db: IPv4 pool "no-such-pool" for interface eth0 does not exist/,
  });
});

t.test('CronJob and DaemonSet templates are judged too; a Deployment\'s ReplicaSet is left to its Deployment', async (t) => {
  const template = { metadata: { annotations: ippool({ ipv4: ['no-such-pool'] }) }, spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } };
  const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup', namespace: 'default', uid: UID }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } } };
  t.match(await new Cluster(BASE_POOLS()).workloadAdmission().validate(workloadRequest('CronJob', 'cronjobs', cron, { name: 'backup' })), {
    allowed: false,
    message: /^CronJob default\/backup: IPv4 pool "no-such-pool" for interface eth0 does not exist/,
  });
  const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default', uid: UID }, spec: { selector: {}, template } };
  t.match(await new Cluster(BASE_POOLS()).workloadAdmission().validate(workloadRequest('DaemonSet', 'daemonsets', ds, { name: 'agent' })), { allowed: false, message: /^DaemonSet default\/agent: / });
  const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-7d9f8c', namespace: 'default', uid: UID, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }] }, spec: { template } };
  t.same(await new Cluster(BASE_POOLS()).workloadAdmission().validate(workloadRequest('ReplicaSet', 'replicasets', rs)), { allowed: true });
});
