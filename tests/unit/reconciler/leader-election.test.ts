import t from 'tap';
import {
  checkTiming,
  judgeLease,
  LeaderElector,
  LeaseConflict,
  nextLeaseRecord,
  type LeaderElectionTiming,
  type LeaseRecord,
  type LeaseStore,
  type StoredLease,
} from '../../../reconciler/leader-election.js';

/** A Lease in memory with the API's optimistic concurrency. */
class MemoryLeaseStore implements LeaseStore {
  readonly description = 'Lease test/underpin-reconciler';
  lease: StoredLease | undefined;
  private version = 0;
  failing: Error | undefined;
  writes = 0;

  async get(): Promise<StoredLease | undefined> {
    if (this.failing) throw this.failing;
    return this.lease && structuredClone(this.lease);
  }
  async create(record: LeaseRecord): Promise<StoredLease> {
    if (this.failing) throw this.failing;
    if (this.lease) throw new LeaseConflict('exists');
    return this.store(record);
  }
  async update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    if (this.failing) throw this.failing;
    if (!this.lease || this.lease.resourceVersion !== resourceVersion) throw new LeaseConflict('stale');
    return this.store(record);
  }
  private store(record: LeaseRecord): StoredLease {
    this.writes++;
    this.lease = { record: structuredClone(record), resourceVersion: String(++this.version) };
    return structuredClone(this.lease);
  }
}

const quiet = { info() {}, warn() {}, error() {} };
// Whole seconds for the lease duration: the Lease stores it in seconds.
const FAST: LeaderElectionTiming = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };
// For "sooner than expiry" checks: the same polling, a lease long enough that a
// loaded machine's stalls cannot blur the difference.
const LONG_LEASE: LeaderElectionTiming = { ...FAST, leaseDurationMs: 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<number> {
  const start = Date.now();
  while (!probe()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - start;
}

function candidate(store: LeaseStore, identity: string, timing = FAST) {
  const state = { started: 0, lost: [] as string[] };
  const elector = new LeaderElector({
    store,
    identity,
    timing,
    log: quiet,
    onStartedLeading: () => state.started++,
    onStoppedLeading: (reason) => state.lost.push(reason),
  });
  return { elector, state };
}

t.test('judgeLease: ours, released, held, expired by the observer clock', async (t) => {
  t.equal(judgeLease({ holderIdentity: 'me' }, 'me', 0, 1e9, 15_000), 'ours');
  t.equal(judgeLease({ holderIdentity: '' }, 'me', 1000, 1000, 15_000), 'free');
  t.equal(judgeLease({}, 'me', 1000, 1000, 15_000), 'free');
  t.equal(judgeLease({ holderIdentity: 'other', leaseDurationSeconds: 15 }, 'me', 1000, 15_999, 15_000), 'held-by-other');
  t.equal(judgeLease({ holderIdentity: 'other', leaseDurationSeconds: 15 }, 'me', 1000, 16_000, 15_000), 'free');
  // renewTime written by another clock (here: long ago) does not shorten the wait.
  const stale = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(0) };
  t.equal(judgeLease(stale, 'me', 1_000_000, 1_000_001, 15_000), 'held-by-other');
  t.equal(judgeLease({ holderIdentity: 'other' }, 'me', 0, 9_999, 10_000), 'held-by-other', 'default duration when the lease has none');
});

t.test('nextLeaseRecord keeps acquireTime on renewal and counts transitions on takeover', async (t) => {
  const t0 = new Date(1000);
  const t1 = new Date(2000);
  const created = nextLeaseRecord(undefined, 'a', t0, 15_000);
  t.same(created, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaseTransitions: 0 });
  t.same(nextLeaseRecord(created, 'a', t1, 15_000), { ...created, renewTime: t1 });
  t.same(nextLeaseRecord(created, 'b', t1, 15_000), { holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: t1, renewTime: t1, leaseTransitions: 1 });
});

t.test('checkTiming wants renew deadline < lease duration and retry period well below the deadline', async (t) => {
  t.equal(checkTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), undefined);
  t.match(checkTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), /renew deadline \(10 s\) must be shorter than the lease duration \(10 s\)/);
  t.match(checkTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 9_000 }), /retry period \(9 s\) must be less than/);
});

t.test('one of two candidates leads; the other takes over once the leader stops renewing', async (t) => {
  const store = new MemoryLeaseStore();
  const a = candidate(store, 'a');
  const b = candidate(store, 'b');
  a.elector.start();
  await until('a leads', () => a.elector.isLeader);
  b.elector.start();
  await sleep(300);
  t.ok(a.elector.isLeader);
  t.notOk(b.elector.isLeader, 'b stands by while a renews');
  t.equal(store.lease?.record.holderIdentity, 'a');

  // a "crashes": stops polling without releasing (what SIGKILL does).
  const aWrites = store.writes;
  (a.elector as unknown as { stopped: boolean }).stopped = true;
  const crashedAt = Date.now();
  await until('b takes over', () => b.elector.isLeader);
  const waited = Date.now() - crashedAt;
  t.ok(waited >= FAST.leaseDurationMs - FAST.retryPeriodMs, `b waited for the lease to expire (${waited} ms)`);
  t.comment(`took over ${waited} ms after the crash (expected within ${FAST.leaseDurationMs + 2 * FAST.retryPeriodMs} ms; not asserted: a loaded machine is slower)`);
  t.equal(store.lease?.record.holderIdentity, 'b');
  t.equal(store.lease?.record.leaseTransitions, 1);
  t.ok(store.writes > aWrites);
  t.equal(b.state.started, 1);
  await b.elector.stop();
});

t.test('stop() releases the lease, and a standby takes it at its next poll', async (t) => {
  const store = new MemoryLeaseStore();
  const a = candidate(store, 'a', LONG_LEASE);
  const b = candidate(store, 'b', LONG_LEASE);
  a.elector.start();
  await until('a leads', () => a.elector.isLeader);
  b.elector.start();
  await sleep(150);
  await a.elector.stop();
  t.equal(store.lease?.record.holderIdentity, '', 'released: no holder');
  t.same(a.state.lost, [], 'giving up is not losing');
  const waited = await until('b takes over', () => b.elector.isLeader);
  t.ok(waited < LONG_LEASE.leaseDurationMs, `without waiting for expiry (${waited} ms)`);
  await b.elector.stop();
});

t.test('a leader that sees another holder loses at once', async (t) => {
  const store = new MemoryLeaseStore();
  const a = candidate(store, 'a');
  a.elector.start();
  await until('a leads', () => a.elector.isLeader);
  const { resourceVersion, record } = store.lease!;
  await store.update({ ...record, holderIdentity: 'intruder' }, resourceVersion);
  await until('a notices', () => a.state.lost.length > 0);
  t.notOk(a.elector.isLeader);
  t.match(a.state.lost[0], /held by intruder/);
});

t.test('a leader that cannot reach the API for the renew deadline loses', async (t) => {
  const store = new MemoryLeaseStore();
  const a = candidate(store, 'a', LONG_LEASE);
  a.elector.start();
  await until('a leads', () => a.elector.isLeader);
  store.failing = new Error('connection refused');
  const since = Date.now();
  await until('a gives up', () => a.state.lost.length > 0);
  const waited = Date.now() - since;
  t.ok(waited < LONG_LEASE.leaseDurationMs, `before the lease could expire for others (${waited} ms)`);
  t.match(a.state.lost[0], /could not renew the lease for 600 ms: connection refused/);
});

t.test('a candidate keeps retrying while the API fails, then leads', async (t) => {
  const store = new MemoryLeaseStore();
  store.failing = new Error('namespace "underpin-system" does not exist');
  const errors: string[] = [];
  const elector = new LeaderElector({
    store,
    identity: 'a',
    timing: FAST,
    log: { ...quiet, error: (_: object, msg: string) => errors.push(msg) },
    onStartedLeading: () => {},
    onStoppedLeading: () => {},
  });
  elector.start();
  await sleep(650);
  t.notOk(elector.isLeader);
  t.equal(errors.length, 1, 'the same error is not logged on every poll');
  t.match(errors[0], /namespace "underpin-system" does not exist/);
  store.failing = undefined;
  await until('leads', () => elector.isLeader);
  await elector.stop();
});
