// A keyed work queue, as client-go's workqueue gives controllers: a key added many
// times while it waits is handled once; a key added while it is being handled is
// handled again afterwards (the newer state is never missed), and never by two
// workers at once; a failed key is retried with exponential backoff; a key can be
// scheduled for later (a TTL that runs out, a write that must wait its turn).

export interface WorkQueueOptions {
  baseRetryMs?: number;
  maxRetryMs?: number;
  /** Keys handled at the same time (default 1). */
  workers?: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/**
 * How long handling may hold the event loop before it lets it run: a pass over 60,000
 * keys whose handling needs no I/O would otherwise keep probes, watch events and lease
 * renewals waiting for seconds.
 */
const SLICE_MS = 20;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly delayed = new Map<string, { dueMs: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: Array<() => void> = [];
  private kickScheduled = false;
  private yieldScheduled = false;
  /** When handling last let the event loop run. */
  private sliceStartedMs = Date.now();
  private stopped = false;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly workers: number;

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.baseRetryMs = options.baseRetryMs ?? 1000;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
    this.workers = Math.max(1, options.workers ?? 1);
  }

  add(key: string): void {
    if (this.stopped) return;
    const timer = this.retryTimers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.retryTimers.delete(key);
    }
    this.pending.add(key);
    this.scheduleKick();
  }

  /**
   * Add `key` after `delayMs`. Of several schedules for one key the earliest wins, so a
   * key scheduled again for later is not pushed back. A plain add() meanwhile does not
   * cancel it: handling a key once more is always harmless.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const dueMs = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.dueMs <= dueMs) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { dueMs, timer });
  }

  /** Keys scheduled with addAfter that are not due yet. */
  get scheduled(): number {
    return this.delayed.size;
  }

  /** Resolves once nothing is pending or being handled (for tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drop pending work, retries and schedules; resolves when the keys being handled are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    await this.idle();
  }

  private isIdle(): boolean {
    return this.processing.size === 0 && this.pending.size === 0 && !this.kickScheduled && !this.yieldScheduled;
  }

  // Start on the next microtask, so keys added in one go are deduplicated first.
  private scheduleKick(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      this.kick();
    });
  }

  private kick(): void {
    for (const key of this.pending) {
      if (this.processing.size >= this.workers) break;
      if (this.processing.has(key)) continue; // handled again once the running turn ends
      this.pending.delete(key);
      void this.run(key);
    }
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async run(key: string): Promise<void> {
    this.processing.add(key);
    try {
      await this.handle(key);
      this.failures.delete(key);
    } catch (error) {
      this.scheduleRetry(key, error);
    } finally {
      this.processing.delete(key);
      this.continueSoon();
    }
  }

  /** The next keys now, or after the event loop had its turn once this slice is spent. */
  private continueSoon(): void {
    if (Date.now() - this.sliceStartedMs < SLICE_MS) return this.kick();
    if (this.yieldScheduled) return;
    this.yieldScheduled = true;
    setImmediate(() => {
      this.yieldScheduled = false;
      this.sliceStartedMs = Date.now();
      this.kick();
    });
  }

  private scheduleRetry(key: string, error: unknown): void {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.min(this.maxRetryMs, this.baseRetryMs * 2 ** (failures - 1));
    this.options.onError?.(key, error, delay);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(key);
      this.add(key);
    }, delay);
    timer.unref();
    this.retryTimers.set(key, timer);
  }
}
