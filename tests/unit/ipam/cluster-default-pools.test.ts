import t from 'tap';
import { clusterDefaultPools } from '../../../ipam/cluster-default-pools.js';
import { poolView } from './fixtures.js';

const pools = [
  poolView('z4', { subnet: '10.6.0.0/16', ips: ['10.6.0.1'], default: true }),
  poolView('a4', { subnet: '10.7.0.0/16', ips: ['10.7.0.1'], default: true }),
  poolView('plain4', { subnet: '10.8.0.0/16', ips: ['10.8.0.1'] }),
  poolView('b6', { subnet: 'fd00:6::/64', ips: ['fd00:6::1'], default: true }),
];

t.test('clusterDefaultPools: the configured ones in their order, then spec.default pools by name, each once', async (t) => {
  t.same(clusterDefaultPools(undefined, pools), { ipv4: ['a4', 'z4'], ipv6: ['b6'] });
  t.same(clusterDefaultPools({ ipv4: ['z4', 'plain4'], ipv6: [] }, pools), { ipv4: ['z4', 'plain4', 'a4'], ipv6: ['b6'] });
  t.same(clusterDefaultPools({ ipv4: ['glob-*'], ipv6: ['x6'] }, []), { ipv4: ['glob-*'], ipv6: ['x6'] });
});
