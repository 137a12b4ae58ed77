// Collects what generated inputs broke, sorted into bugs already known (reported as
// tap todos, so the suite passes until they are fixed) and everything else (failures).
import type { Test } from 'tap';
import { summarize } from './json-tools.js';

export interface KnownBug {
  id: string;
  /** The todo text: what is wrong, in one line. */
  todo: string;
}

interface Finding {
  check: string;
  detail: string;
  input: string;
}

export class Findings {
  private readonly unexpected = new Map<string, Finding[]>();
  private readonly known = new Map<string, Finding[]>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly bugs: readonly KnownBug[],
    private readonly seed: number,
  ) {}

  /** Record a failed check; `bug` names the known bug it is, if any. */
  add(check: string, detail: string, input: unknown, bug?: KnownBug): void {
    const key = bug ? bug.id : check;
    const map = bug ? this.known : this.unexpected;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const list = map.get(key) ?? [];
    if (list.length < 3) list.push({ check, detail, input: summarize(input, 800) });
    map.set(key, list);
  }

  /** One assertion per check that must hold, one todo per known bug. */
  report(t: Test, checks: readonly string[]): void {
    for (const check of checks) {
      const examples = this.unexpected.get(check) ?? [];
      t.equal(this.counts.get(check) ?? 0, 0, check, { seed: this.seed, examples });
    }
    for (const [check, examples] of this.unexpected) {
      if (!checks.includes(check)) t.fail(`unlisted check failed: ${check}`, { seed: this.seed, count: this.counts.get(check), examples });
    }
    for (const bug of this.bugs) {
      const examples = this.known.get(bug.id) ?? [];
      // Diagnostics of todo assertions are not shown: say here what hit the bug.
      // Any line break (U+2028 and U+2029 too, which TAP readers split on) would end the comment early.
      const oneLine = (text: string, limit: number) =>
        text.slice(0, limit).replace(/[\n\r\u2028\u2029]/g, (c) => (c === '\n' ? ' ⏎ ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
      if (examples[0]) t.comment(`${bug.id}: ${this.counts.get(bug.id)} inputs, e.g. ${oneLine(examples[0].detail, 200)} | ${oneLine(examples[0].input, 300)}`);
      t.equal(this.counts.get(bug.id) ?? 0, 0, `generated inputs hitting ${bug.id}`, { todo: `BUG: ${bug.todo}`, seed: this.seed, examples });
    }
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
