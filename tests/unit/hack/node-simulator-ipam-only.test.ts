import t from 'tap';
import { ipamOnly } from '../../../hack/node-simulator/cni.js';

t.test("ipam-only: the main plugin's configuration, run as its IPAM plugin would be delegated; nothing else of the chain", async (t) => {
  const list = {
    cniVersion: '1.0.0',
    name: 'underlay',
    plugins: [
      { type: 'macvlan', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] } },
      { type: 'underpin-coordinator', mode: 'auto' },
    ],
  };
  t.same(ipamOnly(list), { ...list, plugins: [{ type: 'host-local', master: 'uplink0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.9.0.0/24' }]] } }] });
  t.same(ipamOnly({ cniVersion: '1.0.0', name: 'static', plugins: [{ type: 'macvlan', master: 'uplink0' }] }).plugins, [], 'no IPAM: nothing to run');
});
