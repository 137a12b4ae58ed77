import t from 'tap';
import { formatAddress } from '../../../ipam/address.js';
import { bindingAddresses, defaultRouteInterface, encodeBinding, readBinding, readPodBinding, type Binding } from '../../../ipam/binding.js';

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

t.test('readBinding: the binding, or why the text is not one', async (t) => {
  const b = binding([{ interface: 'eth0', ipv4: { address: '10.6.0.5/16', pool: 'p' }, routes: [] }]);
  t.same(readBinding(encodeBinding(b)), { ok: true, value: b });
  t.same(readBinding('{"version":1,"id":"b1","interfaces":[{"interface":"eth0"}]}'), { ok: true, value: { ...b, interfaces: [{ interface: 'eth0', routes: [] }] } }, 'routes default to none');
  const notJSON = readBinding('{');
  t.notOk(notJSON.ok, 'not JSON');
  const noNics = readBinding('{"version":1,"id":"b1","interfaces":[]}');
  t.notOk(noNics.ok);
  if (!noNics.ok) t.match(noNics.error, /^interfaces: /, 'names the field');
});

t.test('readPodBinding: undefined without the annotation', async (t) => {
  t.equal(readPodBinding(undefined), undefined);
  t.equal(readPodBinding({ other: 'x' }), undefined);
  t.equal(readPodBinding({ 'underpin.dev/binding': 'x' })?.ok, false);
});

t.test('defaultRouteInterface: the preferred NIC, else the binding\'s choice, when the pod has it; else the first', async (t) => {
  const two = (defaultRouteInterface?: string): Binding => ({ ...binding([{ interface: 'eth0', routes: [] }, { interface: 'net1', routes: [] }]), ...(defaultRouteInterface ? { defaultRouteInterface } : {}) });
  t.equal(defaultRouteInterface(two()), 'eth0');
  t.equal(defaultRouteInterface(two('net1')), 'net1');
  t.equal(defaultRouteInterface(two('net9')), 'eth0', 'not a NIC of the binding');
  t.equal(defaultRouteInterface(two('net1'), 'eth0'), 'eth0', 'preferred first');
  t.equal(defaultRouteInterface(two('net1'), 'net9'), 'eth0', 'a preferred NIC the pod lacks falls to the first, not to the binding\'s choice');
});
