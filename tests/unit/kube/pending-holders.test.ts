// When an admission-ledger entry stops holding its addresses: once its object is seen
// deleted, replaced by another of the same name, or missing from a fresh read past
// the time a create takes. Until then it holds, however the cache lags.
import t from 'tap';
import { parseCidr } from '../../../ipam/cidr.js';
import { RangeSet } from '../../../ipam/range-set.js';
import { CREATE_SETTLE_MS, stillPending, type KnownHolders, type PendingHolder } from '../../../kube/pending-holders.js';

const parsed = parseCidr('10.6.0.0/16');
if (!parsed.ok) throw new Error(parsed.error);
const cidr = parsed;
const NOW = 1_000_000;

function entry(extra: Partial<PendingHolder> = {}): PendingHolder {
  return { kind: 'SpiderIPPool', name: 'pool-a', cidr: cidr.value, usable: RangeSet.empty(4), uid: 'uid-a', recordedAt: NOW - 1_000, ...extra };
}

function known(extra: Partial<KnownHolders> & { pools?: Record<string, string | undefined> } = {}): KnownHolders {
  const uids = new Map(Object.entries(extra.pools ?? {}).map(([name, uid]) => [`SpiderIPPool/${name}`, uid]));
  return { uids, gone: extra.gone ?? new Set(), fresh: extra.fresh ?? false, now: NOW };
}

t.test('an entry whose object was seen deleted holds nothing, fresh read or not', async (t) => {
  t.equal(stillPending(entry(), known({ gone: new Set(['uid-a']) })), false);
  t.equal(stillPending(entry(), known({ gone: new Set(['uid-a']), fresh: true })), false);
});

t.test('an entry whose name now belongs to another object holds nothing', async (t) => {
  t.equal(stillPending(entry(), known({ pools: { 'pool-a': 'uid-b' } })), false, 'replaced');
  t.equal(stillPending(entry(), known({ pools: { 'pool-a': 'uid-a' } })), true, 'the same object: an update in flight');
  t.equal(stillPending(entry({ uid: undefined }), known({ pools: { 'pool-a': 'uid-b' } })), true, 'an entry without uid (older replica) cannot tell: it holds');
});

t.test('an entry not in the cache holds: the cache may not have the object yet', async (t) => {
  t.equal(stillPending(entry({ recordedAt: NOW - 60_000 }), known()), true);
});

t.test('an entry not in a fresh read holds while its create may be in flight, then not', async (t) => {
  t.equal(stillPending(entry(), known({ fresh: true })), true, 'recorded a second ago');
  t.equal(stillPending(entry({ recordedAt: NOW - CREATE_SETTLE_MS - 1 }), known({ fresh: true })), false, 'older than the webhook timeout');
  t.equal(stillPending(entry({ uid: undefined, recordedAt: NOW - CREATE_SETTLE_MS - 1 }), known({ fresh: true })), false);
});

t.test('subnets and pools of one name are different objects', async (t) => {
  t.equal(stillPending(entry({ kind: 'SpiderSubnet' }), known({ pools: { 'pool-a': 'uid-b' } })), true);
});
