import t from 'tap';
import { WriteSpacing } from '../../../reconciler/write-spacing.js';

t.test('one write per key per interval', async (t) => {
  let now = 10_000;
  const spacing = new WriteSpacing(1000, () => now);
  t.equal(spacing.delayFor('pool:a'), 0, 'never written: now');
  spacing.wrote('pool:a');
  t.equal(spacing.delayFor('pool:a'), 1000);
  t.equal(spacing.delayFor('pool:b'), 0, 'keys are independent');
  now += 400;
  t.equal(spacing.delayFor('pool:a'), 600);
  now += 600;
  t.equal(spacing.delayFor('pool:a'), 0);
  now += 5000;
  t.equal(spacing.delayFor('pool:a'), 0, 'never negative');
  spacing.wrote('pool:a');
  spacing.forget('pool:a');
  t.equal(spacing.delayFor('pool:a'), 0, 'a forgotten key starts afresh');
});
