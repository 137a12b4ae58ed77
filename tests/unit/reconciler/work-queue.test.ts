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
  const deadline = Date.now() + 2000;
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
