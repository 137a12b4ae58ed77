// A keyed work queue with one worker, as client-go's workqueue gives controllers: a
// key added many times while it waits is handled once; a key added while it is being
// handled is handled again afterwards (the newer state is never missed); a failed
// key is retried with exponential backoff.

export interface WorkQueueOptions {
  baseRetryMs?: number;
  maxRetryMs?: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private draining: Promise<void> | undefined;
  private stopped = false;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.baseRetryMs = options.baseRetryMs ?? 1000;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
  }

  add(key: string): void {
    if (this.stopped) return;
    const timer = this.retryTimers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.retryTimers.delete(key);
    }
    this.pending.add(key);
    this.draining ??= this.drain();
  }

  /** Resolves once nothing is pending or being handled (for tests). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Drop pending work and retries; resolves when the key being handled is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    await this.idle();
  }

  private async drain(): Promise<void> {
    // Start on the next microtask, so keys added in one go are deduplicated first.
    await undefined;
    try {
      for (const key of this.pending) {
        this.pending.delete(key);
        try {
          await this.handle(key);
          this.failures.delete(key);
        } catch (error) {
          this.scheduleRetry(key, error);
        }
      }
    } finally {
      this.draining = undefined;
    }
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
