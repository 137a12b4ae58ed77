// The start/stop cycle every queue-driven controller shares: once its caches are
// synced it looks at everything, then again every resync period; stopping ends
// the period and drains the queue.
export class ResyncLoop {
  /** False until run(): events before the first full pass are not worth queueing. */
  synced = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: { stop(): Promise<void> },
    private readonly resyncMs: number,
    private readonly enqueueAll: () => void,
  ) {}

  run(): void {
    this.synced = true;
    this.enqueueAll();
    this.timer = setInterval(() => this.enqueueAll(), this.resyncMs);
  }

  async stop(): Promise<void> {
    this.synced = false;
    clearInterval(this.timer);
    await this.queue.stop();
  }
}
