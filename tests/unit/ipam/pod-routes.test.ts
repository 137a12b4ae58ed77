import t from 'tap';
import { parseCidr } from '../../../ipam/cidr.js';
import { assignPodRoutes } from '../../../ipam/pod-routes.js';

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
};
const NICS = [
  { interface: 'eth0', subnets: [cidr('10.6.0.0/16'), cidr('fd00:6::/64')] },
  { interface: 'net1', subnets: [cidr('10.7.0.0/16')] },
];
const FIELD = 'annotation ipam.spidernet.io/routes';

t.test('each route goes to the NIC whose subnet holds its next hop, in canonical form', async (t) => {
  const routed = assignPodRoutes(FIELD, [
    { dst: '172.16.5.1/24', gw: '10.7.0.254' },
    { dst: 'fd10::/48', gw: 'fd00:6:0::1' },
    { dst: '192.168.0.0/16', gw: '10.6.0.254' },
  ], NICS);
  t.ok(routed.ok);
  if (!routed.ok) return;
  t.same(routed.value.get('net1'), [{ dst: '172.16.5.0/24', gw: '10.7.0.254' }]);
  t.same(routed.value.get('eth0'), [{ dst: 'fd10::/48', gw: 'fd00:6::1' }, { dst: '192.168.0.0/16', gw: '10.6.0.254' }]);
  const none = assignPodRoutes(FIELD, [], NICS);
  t.same(none.ok && [...none.value.entries()], [['eth0', []], ['net1', []]]);
});

t.test('every problem at once, one line each, naming the route', async (t) => {
  const routed = assignPodRoutes(FIELD, [
    { dst: '172.16.5.0/24', gw: '192.168.9.1' },
    { dst: '172.16.6.0/33', gw: 'nope' },
    { dst: '172.16.7.0/24', gw: 'fd00:6::1' },
    { dst: '0.0.0.0/0', gw: '10.6.0.1' },
  ], NICS);
  t.notOk(routed.ok);
  if (routed.ok) return;
  t.same(routed.error.split('\n'), [
    `${FIELD}[0].gw: 192.168.9.1 is in none of the pod's subnets (eth0 10.6.0.0/16, eth0 fd00:6::/64, net1 10.7.0.0/16); use a next hop on one of them`,
    `${FIELD}[1].dst: "172.16.6.0/33" is not a valid CIDR: prefix length 33 is more than 32 for IPv4`,
    `${FIELD}[1].gw: "nope" is not an IPv4 or IPv6 address; write the next hop's address, e.g. "10.6.0.1"`,
    `${FIELD}[2]: dst 172.16.7.0/24 and gw fd00:6::1 are of different IP families`,
    `${FIELD}[3].dst: 0.0.0.0/0 is a default route; choose the NIC of the default route with ipam.spidernet.io/default-route-nic instead`,
  ]);
});
