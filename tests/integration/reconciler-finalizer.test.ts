// The pool-finalizer controller and leader election on a real control plane: the
// reconciler runs as a child process with the admin kubeconfig, as in a cluster.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HANG_TIMEOUT_MS, isAlive, sleep, startProcess, stopProcess, waitUntil, type ManagedProcess } from '../../hack/processes.js';
import { repoPath } from '../../hack/repo-paths.js';
import { startLocalCluster } from './local-cluster.js';

// The webhook adds this one; Spiderpool's own is honoured on migrated objects.
const FINALIZER = 'underpin.dev/addresses-in-use';
const LEGACY_FINALIZER = 'spiderpool.spidernet.io';
const LEASE_NAMESPACE = 'underpin-system';
const LEASE_NAME = 'underpin-reconciler';
// The reconciler's defaults: lease duration 15 s, retry period 2 s.
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;

const cluster = await startLocalCluster(t, { controllers: false, reconcilerReplicas: 0 });
const logs = join(cluster.plane.state.dir, 'logs');

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

// Underpin's install creates it too; apply is a no-op then.
await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NAMESPACE } }));

function reconcilerArgs(identity: string, extra: string[] = []): string[] {
  return ['--import', 'tsx', repoPath('reconciler', 'main.ts'), `--kubeconfig=${cluster.plane.kubeconfig}`, `--identity=${identity}`, '--log-level=debug', ...extra];
}

const started: ManagedProcess[] = [];
t.teardown(async () => {
  await Promise.all(started.map((p) => stopProcess(p.pid)));
});

function startReconciler(identity: string, extra: string[] = []): ManagedProcess {
  const p = startProcess({ name: identity, command: process.execPath, args: reconcilerArgs(identity, extra), logFile: join(logs, `${identity}.log`) });
  started.push(p);
  return p;
}

interface WatchedReconciler {
  pid: number;
  /** Resolves with the exit code. */
  exit: Promise<number | null>;
  output(): string;
}

/** Like startReconciler, but tells the exit code and output (startProcess does not). */
function startWatchedReconciler(identity: string, extra: string[] = []): WatchedReconciler {
  const child = spawn(process.execPath, reconcilerArgs(identity, extra), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exit;
  });
  return { pid: child.pid!, exit, output: () => output };
}

async function leaseHolder(namespace = LEASE_NAMESPACE, name = LEASE_NAME): Promise<string | undefined> {
  const result = await cluster.kubectl(['get', 'lease', '-n', namespace, name, '-o', 'jsonpath={.spec.holderIdentity}']);
  return result.code === 0 ? result.stdout : undefined;
}

async function exists(kind: string, name: string): Promise<boolean> {
  const result = await cluster.kubectl(['get', kind, name, '-o', 'name']);
  if (result.code === 0) return true;
  if (/NotFound/.test(result.stderr)) return false;
  throw new Error(result.stderr);
}

/** `finalizers` are set by us; the webhook adds its own at creation. */
function pool(name: string, subnet: string, ips: string[], finalizers: string[] = []) {
  return { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name, finalizers }, spec: { subnet, ips } };
}

function subnet(name: string, cidr: string, ips: string[]) {
  return { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderSubnet', metadata: { name }, spec: { subnet: cidr, ips } };
}

async function finalizersOf(kind: string, name: string): Promise<string[]> {
  return JSON.parse(await kubectl(['get', kind, name, '-o', 'json'])).metadata.finalizers ?? [];
}

async function createClaim(address: string, poolName: string, pod?: string): Promise<void> {
  const claim = {
    apiVersion: 'underpin.dev/v1alpha1',
    kind: 'IPClaim',
    metadata: { name: address },
    spec: { address, family: 4, pool: poolName, interface: 'eth0', namespace: 'default', bindingID: `bind-${address.replaceAll('.', '-')}` },
  };
  await kubectl(['create', '-f', '-'], JSON.stringify(claim));
  if (pod) {
    const status = { status: { phase: 'Bound', podName: pod } };
    await kubectl(['patch', 'ipclaim', address, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
}

async function deletionWaitingEvents(name: string): Promise<Array<{ message: string; involvedObject: { kind: string; name: string } }>> {
  const out = await kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name},reason=DeletionWaiting`, '-o', 'json']);
  return JSON.parse(out).items;
}

const r1 = startReconciler('reconciler-1');
await waitUntil('reconciler-1 holds the lease', async () => (await leaseHolder()) === 'reconciler-1', { timeoutMs: HANG_TIMEOUT_MS, process: r1 });

t.test('a terminating pool with no claims loses its finalizer and is gone promptly', async (t) => {
  await kubectl(['create', '-f', '-'], JSON.stringify(pool('empty-pool', '10.5.0.0/16', ['10.5.0.1-10.5.0.9'])));
  t.same(await finalizersOf('spiderippool', 'empty-pool'), [FINALIZER], 'the webhook added its finalizer');
  const start = Date.now();
  await kubectl(['delete', 'spiderippool', 'empty-pool', '--wait=false']);
  await waitUntil('empty-pool deleted', async () => !(await exists('spiderippool', 'empty-pool')), { timeoutMs: HANG_TIMEOUT_MS, process: r1 });
  t.comment(`deleted after ${Date.now() - start} ms`);
  t.same(await deletionWaitingEvents('empty-pool'), [], 'no waiting event for a free pool');
});

t.test('a pool with a claim stays Terminating, says why in an Event, and goes when the claim does', async (t) => {
  // Also carries Spiderpool's finalizer, as a pool migrated from Spiderpool would.
  await kubectl(['create', '-f', '-'], JSON.stringify(pool('busy-pool', '10.6.0.0/16', ['10.6.0.1-10.6.0.10'], [LEGACY_FINALIZER])));
  await createClaim('10.6.0.5', 'busy-pool', 'web-1');
  await kubectl(['delete', 'spiderippool', 'busy-pool', '--wait=false']);

  await waitUntil('DeletionWaiting event', async () => (await deletionWaitingEvents('busy-pool')).length > 0, { timeoutMs: HANG_TIMEOUT_MS, process: r1 });
  const [event] = await deletionWaitingEvents('busy-pool');
  t.equal(event!.involvedObject.kind, 'SpiderIPPool');
  t.equal(event!.message, 'deletion waits for 1 address in use (10.6.0.5 by default/web-1); delete that pod to release it');

  const stored = JSON.parse(await kubectl(['get', 'spiderippool', 'busy-pool', '-o', 'json']));
  t.ok(stored.metadata.deletionTimestamp, 'terminating');
  t.same(stored.metadata.finalizers, [LEGACY_FINALIZER, FINALIZER], 'the finalizers stay');

  // A second claim makes the controller look again; the Event is not repeated within a minute.
  await createClaim('10.6.0.6', 'busy-pool');
  await sleep(3000);
  t.ok(await exists('spiderippool', 'busy-pool'), 'still waiting');
  t.equal((await deletionWaitingEvents('busy-pool')).length, 1, 'at most one Event a minute');

  await kubectl(['delete', 'ipclaim', '10.6.0.5']);
  await sleep(3000);
  t.ok(await exists('spiderippool', 'busy-pool'), 'one claim left: still waiting');

  const start = Date.now();
  await kubectl(['delete', 'ipclaim', '10.6.0.6']);
  await waitUntil('busy-pool deleted', async () => !(await exists('spiderippool', 'busy-pool')), { timeoutMs: HANG_TIMEOUT_MS, process: r1 });
  t.pass(`gone ${Date.now() - start} ms after its last claim`);
});

t.test('a subnet waits for the claims of its pools', async (t) => {
  await kubectl(['create', '-f', '-'], JSON.stringify(subnet('subnet-7', '10.7.0.0/16', ['10.7.0.1-10.7.0.100'])));
  t.same(await finalizersOf('spidersubnet', 'subnet-7'), [FINALIZER], 'the webhook added its finalizer');
  await kubectl(['create', '-f', '-'], JSON.stringify(pool('pool-7', '10.7.0.0/16', ['10.7.0.1-10.7.0.20'])));
  await kubectl(['create', '-f', '-'], JSON.stringify(pool('pool-9', '10.9.0.0/16', ['10.9.0.1-10.9.0.20'])));
  await createClaim('10.7.0.3', 'pool-7', 'db-0');
  await createClaim('10.9.0.3', 'pool-9', 'other-0');
  await kubectl(['delete', 'spidersubnet', 'subnet-7', '--wait=false']);

  await waitUntil('DeletionWaiting event', async () => (await deletionWaitingEvents('subnet-7')).length > 0, { timeoutMs: HANG_TIMEOUT_MS, process: r1 });
  const [event] = await deletionWaitingEvents('subnet-7');
  t.equal(event!.involvedObject.kind, 'SpiderSubnet');
  t.equal(event!.message, 'deletion waits for 1 address in use in its pools (10.7.0.3 in pool pool-7 by default/db-0); delete that pod to release it');
  t.ok(await exists('spidersubnet', 'subnet-7'), 'terminating, not gone');

  await kubectl(['delete', 'ipclaim', '10.7.0.3']);
  await waitUntil('subnet-7 deleted', async () => !(await exists('spidersubnet', 'subnet-7')), { timeoutMs: HANG_TIMEOUT_MS, process: r1 });
  t.ok(await exists('spiderippool', 'pool-9'), 'an unrelated pool is untouched');
  t.same(await finalizersOf('spiderippool', 'pool-9'), [FINALIZER], 'and keeps its finalizer');
  t.same(await finalizersOf('spiderippool', 'pool-7'), [FINALIZER], 'the pool of the subnet is not being deleted: it keeps its finalizer');
  await kubectl(['delete', 'ipclaim', '10.9.0.3']);
  await kubectl(['delete', 'spiderippool', 'pool-7', 'pool-9', '--wait=true', '--timeout=120s']);
});

t.test('two replicas: one leads; after SIGKILL of the leader the other takes over and finishes the job', async (t) => {
  const r2 = startReconciler('reconciler-2');
  await waitUntil('reconciler-2 running', async () => readFileSync(r2.logFile, 'utf8').includes('waiting to become leader'), { timeoutMs: HANG_TIMEOUT_MS, process: r2 });
  await sleep(3 * RETRY_PERIOD_MS);
  t.equal(await leaseHolder(), 'reconciler-1', 'the first replica keeps the lease');
  t.notMatch(readFileSync(r2.logFile, 'utf8'), /became leader/, 'the second one stands by');
  const leases = JSON.parse(await kubectl(['get', 'leases', '-n', LEASE_NAMESPACE, '-o', 'json'])).items;
  t.equal(leases.length, 1, 'one Lease');

  await kubectl(['create', '-f', '-'], JSON.stringify(pool('ha-pool', '10.8.0.0/16', ['10.8.0.1-10.8.0.10'])));
  await createClaim('10.8.0.5', 'ha-pool', 'api-0');
  await kubectl(['delete', 'spiderippool', 'ha-pool', '--wait=false']);
  await waitUntil('DeletionWaiting event', async () => (await deletionWaitingEvents('ha-pool')).length > 0, { timeoutMs: HANG_TIMEOUT_MS, process: r1 });

  process.kill(-r1.pid, 'SIGKILL');
  const killedAt = Date.now();
  await waitUntil('reconciler-1 gone', async () => !isAlive(r1.pid), { timeoutMs: HANG_TIMEOUT_MS });
  // Released while nobody leads: the new leader must notice from its initial list.
  await kubectl(['delete', 'ipclaim', '10.8.0.5']);
  t.ok(await exists('spiderippool', 'ha-pool'), 'no leader: the pool waits');

  await waitUntil('reconciler-2 takes over', async () => (await leaseHolder()) === 'reconciler-2', { timeoutMs: HANG_TIMEOUT_MS, process: r2 });
  const tookMs = Date.now() - killedAt;
  // Expiry is judged by the standby's own clock from its last observation of a renewal,
  // so takeover comes within the lease duration plus at most two retry periods.
  // A slow machine only makes it later, so the upper bound is reported, not asserted.
  t.comment(`took over ${tookMs} ms after the kill (expected within ${LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS} ms)`);
  t.ok(tookMs >= LEASE_DURATION_MS - RETRY_PERIOD_MS, `not before the lease expired (${tookMs} ms)`);
  await waitUntil('ha-pool deleted by the new leader', async () => !(await exists('spiderippool', 'ha-pool')), { timeoutMs: HANG_TIMEOUT_MS, process: r2 });
  const lease = JSON.parse(await kubectl(['get', 'lease', '-n', LEASE_NAMESPACE, LEASE_NAME, '-o', 'json']));
  t.equal(lease.spec.leaseTransitions, 1);
  t.equal(lease.spec.leaseDurationSeconds, 15);

  // SIGTERM: stop controllers, release the lease, exit; a standby need not wait 15 s.
  await stopProcess(r2.pid);
  t.equal(await leaseHolder(), '', 'released on SIGTERM');
  t.match(readFileSync(r2.logFile, 'utf8'), /lease released/);
});

t.test('SIGTERM exits 0; a standby then takes over at its next poll', async (t) => {
  const a = startWatchedReconciler('reconciler-3');
  await waitUntil('reconciler-3 leads', async () => (await leaseHolder()) === 'reconciler-3', { timeoutMs: HANG_TIMEOUT_MS });
  const b = startWatchedReconciler('reconciler-4');
  await waitUntil('reconciler-4 running', async () => b.output().includes('waiting to become leader'), { timeoutMs: HANG_TIMEOUT_MS });
  process.kill(a.pid, 'SIGTERM');
  t.equal(await a.exit, 0, 'exit code 0');
  const releasedAt = Date.now();
  await waitUntil('reconciler-4 takes over', async () => (await leaseHolder()) === 'reconciler-4', { timeoutMs: HANG_TIMEOUT_MS });
  t.comment(`took over ${Date.now() - releasedAt} ms after the release (expected within ${2 * RETRY_PERIOD_MS} ms: the standby need not wait for expiry)`);

  // Someone else writes the Lease: the leader must stop at once and exit non-zero.
  // (A renewal between our read and our write is a Conflict: read again and retry.)
  for (let attempt = 1; ; attempt++) {
    const lease = JSON.parse(await kubectl(['get', 'lease', '-n', LEASE_NAMESPACE, LEASE_NAME, '-o', 'json']));
    lease.spec.holderIdentity = 'intruder';
    lease.spec.renewTime = new Date().toISOString().replace('Z', '000Z');
    const replaced = await cluster.kubectl(['replace', '-f', '-'], JSON.stringify(lease));
    if (replaced.code === 0) break;
    if (attempt >= 5 || !replaced.stderr.includes('Conflict')) throw new Error(`kubectl replace -f -: ${replaced.stderr}`);
  }
  t.equal(await b.exit, 1, 'a leader that lost the lease exits 1');
  t.match(b.output(), /leadership lost; exiting/);
});

t.test('a missing Lease namespace is reported and retried', async (t) => {
  const c = startWatchedReconciler('reconciler-5', ['--namespace=underpin-late', '--lease-name=late']);
  await waitUntil('the error is logged', async () => c.output().includes('namespace \\"underpin-late\\" does not exist'), { timeoutMs: HANG_TIMEOUT_MS });
  t.match(c.output(), /kubectl create namespace underpin-late/);
  await kubectl(['create', 'namespace', 'underpin-late']);
  await waitUntil('leads once the namespace exists', async () => (await leaseHolder('underpin-late', 'late')) === 'reconciler-5', { timeoutMs: HANG_TIMEOUT_MS });
  process.kill(c.pid, 'SIGTERM');
  t.equal(await c.exit, 0);
});

t.test('bad options exit 2 with the reason', async (t) => {
  const c = startWatchedReconciler('reconciler-bad', ['--resync-seconds=never']);
  t.equal(await c.exit, 2);
  t.match(c.output(), /--resync-seconds: must be a number of seconds/);
});
