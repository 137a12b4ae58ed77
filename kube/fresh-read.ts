// A read that is guaranteed to start after it was asked for, shared by everyone who
// asks before it starts.
//
// Pod admission must read the admission ledger after its claim exists (a read sent
// earlier could miss a pool removal recorded in between). Under load many pods ask
// at once: they all join the one read that has not been sent yet, so the API server
// sees at most one read in flight and one waiting, however many pods are admitted.
export class FreshRead<T> {
  private inFlight: Promise<T> | undefined;
  private waiting: Promise<T> | undefined;

  constructor(private readonly fetch: () => Promise<T>) {}

  read(): Promise<T> {
    // A read not yet sent serves this caller; one already in flight does not.
    if (this.waiting) return this.waiting;
    const start = (): Promise<T> => {
      this.waiting = undefined;
      const run = this.fetch();
      this.inFlight = run;
      const clear = () => {
        if (this.inFlight === run) this.inFlight = undefined;
      };
      run.then(clear, clear);
      return run;
    };
    const before = this.inFlight;
    this.waiting = before ? before.then(start, start) : Promise.resolve().then(start);
    return this.waiting;
  }
}
