// One leader among reconciler replicas, by a coordination.k8s.io/v1 Lease, the way
// client-go's leaderelection does it: candidates poll every retry period; the holder
// renews every retry period; a lease is free when released (no holder) or when its
// record has not changed for a whole lease duration *as observed by this candidate's
// own clock*, so clock skew between nodes cannot shorten it. Writes go through the
// Lease's resourceVersion, so of two candidates racing for a free lease one wins and
// the other gets a conflict.
//
// A leader that cannot renew for the renew deadline (shorter than the lease duration,
// so it stops before anyone else may start) or that sees another holder has lost the
// lease: onStoppedLeading runs and the process is expected to exit, as
// kube-controller-manager does, so that it restarts as a clean candidate.

export interface LeaseRecord {
  /** Empty or absent: released. */
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Where the Lease lives: the API (lease-store.ts) or memory (unit tests). */
export interface LeaseStore {
  /** "Lease underpin-system/underpin-reconciler", for messages. */
  readonly description: string;
  get(): Promise<StoredLease | undefined>;
  /** Throws LeaseConflict if it exists already. */
  create(record: LeaseRecord): Promise<StoredLease>;
  /** Throws LeaseConflict if resourceVersion is stale or the Lease is gone. */
  update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** Somebody else wrote the Lease first: not an error, just not ours this round. */
export class LeaseConflict extends Error {}

export type LeaseJudgement = 'ours' | 'free' | 'held-by-other';

/**
 * Whose is the lease? `observedAtMs` is when this candidate first saw the current
 * version of the record (not the record's renewTime, which another node's clock wrote).
 */
export function judgeLease(record: LeaseRecord, identity: string, observedAtMs: number, nowMs: number, defaultDurationMs: number): LeaseJudgement {
  if (record.holderIdentity === identity) return 'ours';
  if (!record.holderIdentity) return 'free';
  const durationMs = record.leaseDurationSeconds !== undefined ? record.leaseDurationSeconds * 1000 : defaultDurationMs;
  return nowMs >= observedAtMs + durationMs ? 'free' : 'held-by-other';
}

/** The record to write to take or keep the lease. */
export function nextLeaseRecord(current: LeaseRecord | undefined, identity: string, now: Date, leaseDurationMs: number): LeaseRecord {
  const keeping = current?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
    acquireTime: keeping && current?.acquireTime ? current.acquireTime : now,
    renewTime: now,
    leaseTransitions: keeping ? (current?.leaseTransitions ?? 0) : current ? (current.leaseTransitions ?? 0) + 1 : 0,
  };
}

export interface LeaderElectionTiming {
  /** How long a lease is valid without renewal (client-go default 15 s). */
  leaseDurationMs: number;
  /** How long a leader keeps trying to renew before giving up (default 10 s). */
  renewDeadlineMs: number;
  /** How often candidates poll and the leader renews (default 2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_TIMING: LeaderElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * The relations client-go insists on; a message naming what to change, or undefined.
 * `names` lets the CLI speak of its flags.
 */
export function checkTiming(
  timing: LeaderElectionTiming,
  names = { leaseDuration: 'the lease duration', renewDeadline: 'the renew deadline', retryPeriod: 'the retry period' },
): string | undefined {
  const s = (ms: number) => `${ms / 1000} s`;
  if (timing.renewDeadlineMs >= timing.leaseDurationMs) {
    return `${names.renewDeadline} (${s(timing.renewDeadlineMs)}) must be shorter than ${names.leaseDuration} (${s(timing.leaseDurationMs)}), or a leader may still act after another replica took over`;
  }
  if (timing.retryPeriodMs * 1.2 >= timing.renewDeadlineMs) {
    return `${names.retryPeriod} (${s(timing.retryPeriodMs)}) must be less than ${names.renewDeadline} / 1.2 (${s(timing.renewDeadlineMs)} / 1.2), or a leader gives up after a single slow renewal`;
  }
  return undefined;
}

export interface LeaderElectorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  timing?: LeaderElectionTiming;
  log: LeaderElectorLog;
  onStartedLeading: () => void;
  /** Leadership was lost (not given up through stop()). */
  onStoppedLeading: (reason: string) => void;
  now?: () => number;
}

class Timeout extends Error {}

/** What one poll found: we hold it, another live holder does, or a write raced ours. */
type Attempt = 'ours' | 'held-by-other' | 'conflict';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const REPEATED_ERROR_LOG_MS = 30_000;

export class LeaderElector {
  private readonly timing: LeaderElectionTiming;
  private readonly now: () => number;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  /** The last version of the lease this candidate saw, and when it first saw it. */
  private observed: { lease: StoredLease; atMs: number } | undefined;
  /** When the last successful renewal was sent (its start: the conservative end). */
  private lastRenewMs = 0;
  private lastError: { message: string; loggedAtMs: number } | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.timing = options.timing ?? DEFAULT_TIMING;
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Whether a poll has read (or created) the Lease yet: until then, nobody knows who leads. */
  get hasObservedLease(): boolean {
    return this.observed !== undefined;
  }

  start(): void {
    this.schedule(0);
  }

  /**
   * Stop campaigning. A leader releases the lease (empty holder) so that a standby
   * takes over at its next poll instead of waiting for the lease to expire.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
    if (!this.leading) return;
    this.leading = false;
    const observed = this.observed;
    if (!observed) return;
    const now = new Date(this.now());
    const released: LeaseRecord = { ...observed.lease.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
    try {
      await withTimeout(this.options.store.update(released, observed.lease.resourceVersion), this.timing.retryPeriodMs);
      this.options.log.info({ lease: this.options.store.description }, 'lease released');
    } catch (error) {
      // Someone else wrote it meanwhile, or the API is away: the lease expires anyway.
      this.options.log.warn({ lease: this.options.store.description, err: error }, 'could not release the lease; it expires on its own');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.tick().finally(() => {
        this.inFlight = undefined;
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const startedMs = this.now();
    let outcome: Attempt;
    try {
      const attemptMs = this.leading ? Math.max(1, this.lastRenewMs + this.timing.renewDeadlineMs - startedMs) : this.timing.leaseDurationMs;
      outcome = await withTimeout(this.tryAcquireOrRenew(startedMs), attemptMs);
      this.lastError = undefined;
    } catch (error) {
      this.logError(error);
      if (this.leading && this.now() - this.lastRenewMs >= this.timing.renewDeadlineMs) {
        return this.lose(`could not renew the lease for ${this.timing.renewDeadlineMs} ms: ${(error as Error).message}`);
      }
      return this.schedule(this.timing.retryPeriodMs);
    }
    if (this.stopped) {
      // stop() came while we were writing; it releases if we just became leader.
      if (outcome === 'ours') this.leading = true;
      return;
    }
    if (outcome === 'ours') {
      this.lastRenewMs = startedMs;
      if (!this.leading) {
        this.leading = true;
        this.options.log.info({ lease: this.options.store.description, identity: this.options.identity }, 'became leader');
        this.options.onStartedLeading();
      }
      return this.schedule(this.timing.retryPeriodMs);
    }
    if (this.leading && outcome === 'held-by-other') {
      return this.lose(`the lease is now held by ${this.observed?.lease.record.holderIdentity}`);
    }
    if (this.leading) {
      // A write raced ours (say, someone edited the Lease): still ours until it
      // expires, so retry until the renew deadline.
      if (this.now() - this.lastRenewMs >= this.timing.renewDeadlineMs) return this.lose('every renewal in the renew deadline hit a conflict');
      return this.schedule(this.timing.retryPeriodMs);
    }
    // Candidates spread their polls a little so they do not all write at once.
    return this.schedule(this.timing.retryPeriodMs * (1 + Math.random() * 0.2));
  }

  private lose(reason: string): void {
    this.leading = false;
    this.stopped = true;
    this.options.log.error({ lease: this.options.store.description, reason }, 'lost the lease');
    this.options.onStoppedLeading(reason);
  }

  private observe(lease: StoredLease, nowMs: number): void {
    if (this.observed?.lease.resourceVersion !== lease.resourceVersion) this.observed = { lease, atMs: nowMs };
  }

  private async tryAcquireOrRenew(nowMs: number): Promise<Attempt> {
    const { store, identity } = this.options;
    const now = new Date(nowMs);
    const current = await store.get();
    if (!current) {
      try {
        this.observe(await store.create(nextLeaseRecord(undefined, identity, now, this.timing.leaseDurationMs)), nowMs);
        return 'ours';
      } catch (error) {
        if (error instanceof LeaseConflict) return 'conflict';
        throw error;
      }
    }
    this.observe(current, nowMs);
    const judgement = judgeLease(current.record, identity, this.observed!.atMs, nowMs, this.timing.leaseDurationMs);
    if (judgement === 'held-by-other') return 'held-by-other';
    try {
      const next = nextLeaseRecord(current.record, identity, now, this.timing.leaseDurationMs);
      this.observe(await store.update(next, current.resourceVersion), nowMs);
      return 'ours';
    } catch (error) {
      if (error instanceof LeaseConflict) return 'conflict';
      throw error;
    }
  }

  /** The same failure every 2 s (say, a missing namespace) is logged every 30 s. */
  private logError(error: unknown): void {
    const message = (error as Error).message ?? String(error);
    const nowMs = this.now();
    if (this.lastError?.message === message && nowMs - this.lastError.loggedAtMs < REPEATED_ERROR_LOG_MS) return;
    this.lastError = { message, loggedAtMs: nowMs };
    this.options.log.error({ lease: this.options.store.description, err: error }, `leader election: ${message}`);
  }
}
