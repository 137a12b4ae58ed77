import t from 'tap';
import { formatAddress } from '../../../ipam/address.js';
import { bindingAddresses, type Binding } from '../../../ipam/binding.js';

const binding = (interfaces: Binding['interfaces']): Binding => ({ version: 1, id: 'b1', interfaces });

t.test('bindingAddresses: every address of every NIC, without prefix; undefined if one is not an address', async (t) => {
  const all = bindingAddresses(binding([
    { interface: 'eth0', ipv4: { address: '10.6.0.5/16', pool: 'p' }, ipv6: { address: 'fd00:0::5/64', pool: 'p6' }, routes: [] },
    { interface: 'net1', ipv4: { address: '10.7.0.9/16', pool: 'q' }, routes: [] },
  ]));
  t.same(all?.map(formatAddress), ['10.6.0.5', 'fd00::5', '10.7.0.9']);
  t.same(bindingAddresses(binding([{ interface: 'eth0', routes: [] }])), []);
  t.equal(bindingAddresses(binding([{ interface: 'eth0', ipv4: { address: 'ten/16', pool: 'p' }, routes: [] }])), undefined);
});
