import t from 'tap';
import { WorkQueue } from '../../../reconciler/work-queue.js';

t.test('a key added many times while waiting is handled once', async (t) => {
  const handled: string[] = [];
  const queue = new WorkQueue(async (key) => {
    handled.push(key);
  });
  queue.add('a');
  queue.add('b');
  queue.add('a');
  await queue.idle();
  t.same(handled, ['a', 'b']);
});

t.test('a key added while being handled is handled again afterwards', async (t) => {
  const handled: string[] = [];
  let queue: WorkQueue;
  queue = new WorkQueue(async (key) => {
    handled.push(key);
    if (handled.length === 1) queue.add('a');
    await new Promise((resolve) => setTimeout(resolve, 5));
  });
  queue.add('a');
  await queue.idle();
  t.same(handled, ['a', 'a']);
});

t.test('failures are retried with growing delays until they succeed', async (t) => {
  let attempts = 0;
  const delays: number[] = [];
  const queue = new WorkQueue(
    async () => {
      attempts++;
      if (attempts < 3) throw new Error('conflict');
    },
    { baseRetryMs: 10, onError: (_key, _error, retryInMs) => delays.push(retryInMs) },
  );
  queue.add('a');
  const deadline = Date.now() + 30_000; // bounds a hang only
  while (attempts < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(attempts, 3);
  t.same(delays, [10, 20]);
  await queue.stop();
});

t.test('stop() drops pending work and retries', async (t) => {
  let attempts = 0;
  const queue = new WorkQueue(
    async () => {
      attempts++;
      throw new Error('always');
    },
    { baseRetryMs: 20 },
  );
  queue.add('a');
  await queue.idle();
  await queue.stop();
  queue.add('b');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.equal(attempts, 1);
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('addAfter handles the key once the delay has passed', async (t) => {
  const handled: Array<[string, number]> = [];
  const start = Date.now();
  const queue = new WorkQueue(async (key) => {
    handled.push([key, Date.now() - start]);
  });
  queue.addAfter('later', 40);
  queue.addAfter('now', 0);
  await queue.idle();
  t.same(handled.map(([key]) => key), ['now'], 'a zero delay is a plain add');
  t.equal(queue.scheduled, 1);
  await wait(80);
  await queue.idle();
  t.same(handled.map(([key]) => key), ['now', 'later']);
  t.ok(handled[1]![1] >= 35, `not before its time (${handled[1]![1]} ms)`);
  t.equal(queue.scheduled, 0);
});

t.test('of several schedules of one key, the earliest wins and it is handled once', async (t) => {
  const handled: string[] = [];
  const queue = new WorkQueue(async (key) => {
    handled.push(key);
  });
  queue.addAfter('a', 200);
  queue.addAfter('a', 20); // earlier: replaces
  queue.addAfter('a', 100); // later: ignored
  await wait(60);
  await queue.idle();
  t.same(handled, ['a']);
  await wait(200);
  t.same(handled, ['a'], 'the replaced and ignored schedules do not fire');
  await queue.stop();
});

t.test('stop() cancels scheduled keys', async (t) => {
  const handled: string[] = [];
  const queue = new WorkQueue(async (key) => {
    handled.push(key);
  });
  queue.addAfter('a', 20);
  await queue.stop();
  queue.addAfter('b', 1);
  await wait(50);
  t.same(handled, []);
  t.equal(queue.scheduled, 0);
});

t.test('several workers handle different keys at once, never one key twice at once', async (t) => {
  let running = 0;
  let most = 0;
  const runningKeys = new Set<string>();
  let overlap = false;
  const handled: string[] = [];
  let queue: WorkQueue;
  queue = new WorkQueue(
    async (key) => {
      if (runningKeys.has(key)) overlap = true;
      runningKeys.add(key);
      running++;
      most = Math.max(most, running);
      handled.push(key);
      if (key === 'a' && handled.filter((k) => k === 'a').length === 1) queue.add('a'); // re-added while running
      await wait(10);
      running--;
      runningKeys.delete(key);
    },
    { workers: 3 },
  );
  for (const key of ['a', 'b', 'c', 'd', 'e', 'b']) queue.add(key);
  await queue.idle();
  t.equal(most, 3, 'three at a time');
  t.notOk(overlap, 'a key is never handled twice at once');
  t.same([...handled].sort(), ['a', 'a', 'b', 'c', 'd', 'e'], 'each once, and "a" again after its re-add');
});

t.test('stop() waits for every worker', async (t) => {
  const done: string[] = [];
  const queue = new WorkQueue(
    async (key) => {
      await wait(20);
      done.push(key);
    },
    { workers: 2 },
  );
  queue.add('a');
  queue.add('b');
  queue.add('c');
  await wait(5);
  await queue.stop();
  t.same(done.sort(), ['a', 'b'], 'the two running finish; the waiting one is dropped');
});

t.test('a long pass of keys that need no I/O lets the event loop run between slices', async (t) => {
  let handled = 0;
  let handledWhenTimerRan: number | undefined;
  const queue = new WorkQueue(async () => {
    handled++;
    // Work that never awaits I/O: without slices the loop would not turn until the end.
    const until = performance.now() + 0.01;
    while (performance.now() < until);
  });
  for (let i = 0; i < 5_000; i++) queue.add(`key-${i}`);
  setTimeout(() => (handledWhenTimerRan = handled), 0);
  await queue.idle();
  t.equal(handled, 5_000);
  t.ok(handledWhenTimerRan !== undefined && handledWhenTimerRan < 5_000, `a timer ran during the pass (after ${handledWhenTimerRan} keys)`);
});
