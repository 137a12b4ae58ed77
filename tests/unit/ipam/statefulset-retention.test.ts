import t from 'tap';
import { podBindingID, retainedAddress } from '../../../ipam/statefulset-retention.js';
import { address, poolView } from './fixtures.js';

const a = poolView('a', { subnet: '10.6.0.0/16', ips: ['10.6.1.1-10.6.1.4'] });
const b = poolView('b', { subnet: '10.7.0.0/16', ips: ['10.7.1.1-10.7.1.4'] });
const claim = (pool: string, text: string, nic = 'eth0') => ({ spec: { interface: nic, pool }, inUse: { address: address(text) } });

t.test('podBindingID: stable per StatefulSet ordinal, random otherwise', async (t) => {
  const web0 = podBindingID('ns1', { statefulSet: 'web', ordinal: 0 });
  t.equal(web0, podBindingID('ns1', { statefulSet: 'web', ordinal: 0 }));
  t.not(web0, podBindingID('ns1', { statefulSet: 'web', ordinal: 1 }));
  t.not(web0, podBindingID('ns2', { statefulSet: 'web', ordinal: 0 }));
  t.match(web0, /^s[0-9a-f]{23}$/);
  t.not(podBindingID('ns1'), podBindingID('ns1'));
});

t.test('retainedAddress: the earlier claim of this NIC and family, while a candidate pool still holds it', async (t) => {
  const retained = [claim('a', '10.6.1.3', 'net1'), claim('a', '10.6.1.2')];
  t.same(retainedAddress(retained, { interface: 'eth0', family: 4, candidates: [b, a] }), { pool: a, address: address('10.6.1.2') });
  t.equal(retainedAddress(retained, { interface: 'eth0', family: 6, candidates: [a] }), undefined, 'other family');
  t.equal(retainedAddress(retained, { interface: 'eth0', family: 4, candidates: [b] }), undefined, 'its pool is no candidate now');
  t.equal(retainedAddress([claim('a', '10.6.9.9')], { interface: 'eth0', family: 4, candidates: [a] }), undefined, 'the pool no longer holds the address');
});
