// A pool shrinking while pods claim from it, through two webhook replicas: no claim
// may end up outside its pool (DESIGN invariant 1). Each round races one update that
// takes half of a pool's addresses away against a burst of pods into that pool;
// whichever way each round goes (update admitted, or denied because a pod holds a
// removed address), every claim must lie inside its pool's final spec.ips. Without
// the fence (UnderlayAdmissionState.fenceRemoval) this failed 2 rounds of 8.
import t from 'tap';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseAddress } from '../../ipam/address.js';
import { parseRangeList } from '../../ipam/range-set.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { customObject, SPIDER_IPPOOL, IP_CLAIM } from '../../kube/resources.js';
import { startLocalCluster } from './local-cluster.js';

const ROUNDS = 8;
const PODS = 16;

t.test(`${ROUNDS} rounds of a pool shrink racing ${PODS} pods`, async (t) => {
  const cluster = await startLocalCluster(t, { controllers: false, reconcilerReplicas: 0 });
  const kc = loadKubeConfig(cluster.plane.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  t.equal((await cluster.kubectl(['create', 'serviceaccount', 'default'])).code, 0);

  const outcomes = { shrunk: 0, denied: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const name = `shrink-${round}`;
    const whole = `10.6.${round}.1-10.6.${round}.40`;
    const half = `10.6.${round}.1-10.6.${round}.20`;
    const pool = { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.6.0.0/16', ips: [whole] } };
    t.equal((await cluster.kubectl(['apply', '-f', '-'], stringify(pool))).code, 0);
    await new Promise((r) => setTimeout(r, 300)); // both replicas' caches see the pool

    // The update goes first and the pods follow it by 0–21 ms (a different gap each
    // round), so pods arrive while the update is being judged and persisted.
    const stored = (await custom.getClusterCustomObject({ ...customObject(SPIDER_IPPOOL), name })) as { spec: { ips: string[] } };
    const shrink = custom.replaceClusterCustomObject({ ...customObject(SPIDER_IPPOOL), name, body: { ...stored, spec: { ...stored.spec, ips: [half] } } }).then(
      () => ({ admitted: true, message: '' }),
      (error: { body?: unknown }) => ({ admitted: false, message: String(error.body ?? error) }),
    );
    // The last round waits for the update: pods then meet replicas whose caches may
    // still show the old pool, and only the fence keeps them out of the removed half.
    if (round === ROUNDS - 1) await shrink;
    else await new Promise((r) => setTimeout(r, (round * 3) % 22));
    const pods = Array.from({ length: PODS }, (_, i) =>
      core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: `${name}-${i}`, annotations: { 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [name] }) } },
          spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.invalid/c:1' }] },
        },
      }),
    );
    const outcome = await shrink;
    const created = await Promise.allSettled(pods);
    const refused = created.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason?.body ?? r.reason).slice(0, 300));
    t.same(refused, [], `round ${round}: every pod admitted (${PODS} pods fit in either size of the pool)`);
    if (outcome.admitted) outcomes.shrunk++;
    else {
      outcomes.denied++;
      t.match(outcome.message, /would remove .*in use by pods/, `round ${round}: a denied shrink names the addresses in use`);
    }

    const current = (await custom.getClusterCustomObject({ ...customObject(SPIDER_IPPOOL), name })) as { spec: { ips: string[] } };
    const usable = parseRangeList(current.spec.ips, 4);
    if (!usable.ok) throw new Error(`pool ${name} has unreadable ips ${current.spec.ips.join(',')}`);
    const claims = ((await custom.listClusterCustomObject({ ...customObject(IP_CLAIM), labelSelector: `underpin.dev/pool=${name}` })) as { items: { spec: { address: string } }[] }).items;
    t.equal(claims.length, PODS, `round ${round}: one claim per pod`);
    const outside = claims.map((c) => c.spec.address).filter((a) => {
      const parsed = parseAddress(a, 4);
      return !parsed.ok || !usable.value.set.containsAddress(parsed.value);
    });
    t.same(outside, [], `round ${round} (${outcome.admitted ? 'shrink admitted' : 'shrink denied'}): every claim inside ${name} (${current.spec.ips.join(',')})`);
  }
  t.comment(`shrinks admitted ${outcomes.shrunk}, denied ${outcomes.denied}`);
  t.ok(outcomes.shrunk > 0, 'at least the last round shrank the pool under the pods');
});
