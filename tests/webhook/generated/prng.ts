// A tiny seeded PRNG (mulberry32) and the choices the input generators make with it.
// Same seed, same inputs: a failure found with one seed can always be replayed.
import { randomInt } from 'node:crypto';

/** The seed to use: UNDERPIN_FUZZ_SEED when set (decimal or 0x hex), otherwise a fresh one. */
export function chooseSeed(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.UNDERPIN_FUZZ_SEED?.trim();
  if (text) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`UNDERPIN_FUZZ_SEED=${JSON.stringify(text)} is not an integer from 0 to 4294967295`);
    }
    return value;
  }
  // .ci/run pins a seed so CI judges the commit, not the draw; a developer's run
  // draws a fresh one, which is where new bugs come from.
  return randomInt(0, 0xffffffff);
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [low, high], both inclusive. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of the items, each as likely as its weight. */
  weighted<T>(items: readonly (readonly [weight: number, item: T])[]): T {
    const total = items.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [weight, item] of items) {
      roll -= weight;
      if (roll < 0) return item;
    }
    return items[items.length - 1]![1];
  }

  /** A uniformly random bigint in [0, limit), limit > 0. */
  bigintBelow(limit: bigint): bigint {
    if (limit <= 1n) return 0n;
    const bits = limit.toString(2).length;
    for (;;) {
      let value = 0n;
      for (let done = 0; done < bits; done += 16) value = (value << 16n) | BigInt(this.int(0, 0xffff));
      value &= (1n << BigInt(bits)) - 1n;
      if (value < limit) return value;
    }
  }

  /** A fresh generator whose sequence depends on this one's, for independent sub-streams. */
  fork(): Rng {
    return new Rng(this.int(0, 0xffffffff));
  }
}
