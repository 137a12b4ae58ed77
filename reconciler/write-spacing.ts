// At most one write per object per interval: status that follows a burst of claim
// changes is written once the burst has had a moment, not once per claim.

export class WriteSpacing {
  private readonly last = new Map<string, number>();

  constructor(
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long `key` must wait before its next write (0: it may write now). */
  delayFor(key: string): number {
    const last = this.last.get(key);
    if (last === undefined) return 0;
    return Math.max(0, last + this.intervalMs - this.now());
  }

  wrote(key: string): void {
    this.last.set(key, this.now());
  }

  /** The object is gone; a same-named successor starts afresh. */
  forget(key: string): void {
    this.last.delete(key);
  }
}
