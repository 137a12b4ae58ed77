import t from 'tap';
import { MemoryClaimStore } from '../../../ipam/claim-store.js';
import { IPClaim } from '../../../ipam/ip-claim.js';
import { address } from './fixtures.js';

const request = (text: string) => ({ address: address(text), pool: 'p', interface: 'eth0', namespace: 'default', bindingID: 'b1', statefulSetOrdinal: 0 });

t.test('MemoryClaimStore: refuses a second claim of one address, releases by uid', async (t) => {
  const store = new MemoryClaimStore();
  const first = await store.reserve(request('10.6.0.5'));
  t.ok(first?.uid);
  t.equal(await store.reserve(request('10.6.0.5')), undefined, 'claimed already');
  await store.release(address('10.6.0.5'), 'another-uid');
  t.equal(store.held().length, 1, 'a release of another claim of the name deletes nothing');
  await store.release(address('10.6.0.5'), first!.uid);
  t.same(store.held(), []);
});

t.test('MemoryClaimStore: get answers with the IPClaim the API would hold', async (t) => {
  const store = new MemoryClaimStore();
  await store.reserve(request('fd00::5'));
  const claim = await store.get(address('fd00::5'));
  t.ok(IPClaim.safeParse(claim).success, 'a valid IPClaim');
  t.equal(claim?.metadata.name, 'fd00--5');
  t.match(claim?.spec, { address: 'fd00::5', family: 6, pool: 'p', bindingID: 'b1', statefulSetOrdinal: 0 });
  t.equal(await store.get(address('fd00::6')), undefined);
});
