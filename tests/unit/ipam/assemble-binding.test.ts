import t from 'tap';
import { assembleBinding } from '../../../ipam/assemble-binding.js';
import type { InterfaceRequest } from '../../../ipam/pod-network-request.js';
import { address, poolView } from './fixtures.js';

const v4 = poolView('v4', { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.4'], gateway: '10.6.0.1', vlan: 6, routes: [{ dst: '10.9.0.0/16', gw: '10.6.0.254' }] });
const v6 = poolView('v6', { subnet: 'fd00:6::/64', ips: ['fd00:6::1-fd00:6::4'] });
const net1 = poolView('n1', { subnet: '10.7.0.0/16', ips: ['10.7.1.1-10.7.1.4'], gateway: '10.7.0.1' });
const eth0: InterfaceRequest = { interface: 'eth0', ipv4: ['v4'], ipv6: ['v6'], source: 'ippools', cleanGateway: false };
const nic1: InterfaceRequest = { interface: 'net1', ipv4: ['n1'], ipv6: [], source: 'ippools', network: 'default/macvlan' };
const allocations = [
  { nic: eth0, family: 4 as const, pool: v4, address: address('10.6.1.2') },
  { nic: eth0, family: 6 as const, pool: v6, address: address('fd00:6::3') },
  { nic: nic1, family: 4 as const, pool: net1, address: address('10.7.1.1') },
];

t.test('assembleBinding: addresses with prefix, gateway and VLAN, pool routes then pod routes on the NIC of their next hop', async (t) => {
  const result = assembleBinding({ id: 'b1', nics: [eth0, nic1], allocations, podAnnotations: { 'ipam.spidernet.io/routes': '[{"dst":"172.16.0.0/12","gw":"10.7.0.9"}]' } });
  t.same(result, {
    ok: true,
    value: {
      version: 1,
      id: 'b1',
      interfaces: [
        {
          interface: 'eth0',
          cleanGateway: false,
          ipv4: { address: '10.6.1.2/16', pool: 'v4', gateway: '10.6.0.1', vlan: 6 },
          ipv6: { address: 'fd00:6::3/64', pool: 'v6' },
          routes: [{ dst: '10.9.0.0/16', gw: '10.6.0.254' }],
        },
        { interface: 'net1', network: 'default/macvlan', ipv4: { address: '10.7.1.1/16', pool: 'n1', gateway: '10.7.0.1' }, routes: [{ dst: '172.16.0.0/12', gw: '10.7.0.9' }] },
      ],
    },
  });
});

t.test('assembleBinding: the default-route NIC must be one of the pod\'s Underpin NICs', async (t) => {
  const chosen = assembleBinding({ id: 'b1', nics: [eth0, nic1], allocations, podAnnotations: { 'ipam.spidernet.io/default-route-nic': 'net1' } });
  t.equal(chosen.ok && chosen.value.defaultRouteInterface, 'net1');
  const wrong = assembleBinding({ id: 'b1', nics: [eth0, nic1], allocations, podAnnotations: { 'ipam.spidernet.io/default-route-nic': 'net7' } });
  t.same(wrong, { ok: false, error: 'annotation ipam.spidernet.io/default-route-nic: "net7" is not one of the pod\'s Underpin NICs (eth0, net1)' });
});

t.test('assembleBinding: a pod route whose next hop is on no NIC is refused', async (t) => {
  const result = assembleBinding({ id: 'b1', nics: [eth0], allocations: allocations.slice(0, 2), podAnnotations: { 'ipam.spidernet.io/routes': '[{"dst":"172.16.0.0/12","gw":"192.168.0.1"}]' } });
  t.notOk(result.ok);
  if (!result.ok) t.match(result.error, '192.168.0.1 is in none of the pod\'s subnets');
});
