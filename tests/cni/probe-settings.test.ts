// The pure parts of the coordinator's checks and MAC prefix: which configuration
// names turn them on, detectOptions, podMACPrefix's validation and the MAC it makes;
// and, in a network namespace, the MAC change for a driver that needs its link down
// (its addresses and routes are put back).
import t from 'tap';
import { readCoordinatorConfig } from '../../cni/coordinator/coordinator-config.js';
import { macFor, macSourceAddress, setMacLinkDown } from '../../cni/coordinator/mac-prefix.js';
import { NetnsIp } from '../../cni/coordinator/netns-ip.js';
import { probeSettingsOf } from '../../cni/coordinator/probe-settings.js';
import { canUseNetns, ip, ipJSON, NamespaceSet } from './netns-lab.js';

const base = { cniVersion: '1.0.0', name: 'n', type: 'underpin-coordinator' };
const read = (extra: Record<string, unknown>) => readCoordinatorConfig({ ...base, ...extra });
const refusal = (extra: Record<string, unknown>) => {
  try {
    read(extra);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

t.test('all off by default; Spiderpool 1.0 names count, the coordinator\'s win', async (t) => {
  t.same(read({}).probes, { macPrefix: undefined, detectIPConflict: false, detectGateway: false, timing: { retries: 3, intervalMs: 10, timeoutMs: 100 } });
  t.equal(read({ enableIPConflictDetection: true }).probes.detectIPConflict, true);
  t.equal(read({ enableGatewayDetection: true }).probes.detectGateway, true);
  t.equal(read({ detectIPConflict: false, enableIPConflictDetection: true }).probes.detectIPConflict, false, 'detectIPConflict wins');
  t.equal(read({ detectGateway: true, enableGatewayDetection: false }).probes.detectGateway, true, 'detectGateway wins');
  t.same(read({ detectOptions: { retries: 1, interval: '1s', timeout: '1s500ms' } }).probes.timing, { retries: 1, intervalMs: 1000, timeoutMs: 1500 });
  t.same(probeSettingsOf({ podMACPrefix: '' }).macPrefix, undefined, 'an empty prefix is off, as in Spiderpool');
});

t.test('bad values name the field and the fix', async (t) => {
  t.match(refusal({ podMACPrefix: '0b:1b' }), 'podMACPrefix: "0b:1b" starts with a multicast byte (0x0b has its lowest bit set); use an even first byte, e.g. "0a:1b"');
  t.match(refusal({ podMACPrefix: 'zz:1b' }), 'podMACPrefix: "zz:1b" is not two bytes of a MAC address; write it like "0a:1b"');
  t.match(refusal({ detectIPConflict: 'yes' }), 'detectIPConflict: must be true or false');
  t.match(refusal({ detectOptions: { retries: 0 } }), 'detectOptions.retries:');
  t.match(refusal({ detectOptions: { interval: '10' } }), 'detectOptions.interval: "10" is not a duration; write it like "100ms" or "1s"');
  t.match(refusal({ detectOptions: { timeout: '10s' } }), 'detectOptions.timeout: "10s" is out of range: between 1ms and 5s');
  t.equal(read({ podMACPrefix: '0A-1B' }).probes.macPrefix, '0a:1b', 'upper case and a dash are read the same');
});

t.test('the MAC: prefix + the IPv4 address, or the last four bytes of the IPv6 one', async (t) => {
  t.equal(macFor('0a:1b', '10.6.0.11'), '0a:1b:0a:06:00:0b');
  t.equal(macFor('0a:1b', '198.18.1.10'), '0a:1b:c6:12:01:0a');
  t.equal(macFor('0a:1b', 'fd00:18:1::c0a8:10a'), '0a:1b:c0:a8:01:0a');
  t.equal(macSourceAddress({ 4: ['10.6.0.11'], 6: ['fd00::1'] }), '10.6.0.11', 'IPv4 first on a dual-stack NIC');
  t.equal(macSourceAddress({ 4: [], 6: ['fd00::1'] }), 'fd00::1');
  t.equal(macSourceAddress({ 4: [], 6: [] }), undefined);
});

const unusable = canUseNetns();
t.test('a driver that needs its link down: addresses and routes are put back', { skip: unusable ?? false }, async (t) => {
  const set = new (class extends NamespaceSet {
    cleanup() {
      this.deleteAllNetns();
    }
  })();
  t.teardown(() => set.cleanup());
  const id = Math.random().toString(16).slice(2, 8);
  const pod = set.addNetns(`up-${id}-macpod`);
  const peer = set.addNetns(`up-${id}-macpeer`);
  ip(['-n', pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer]);
  ip(['-n', peer, '-batch', '-'], 'addr add 198.18.1.1/24 dev p0\naddr add fd00:18:1::1/64 dev p0 nodad\nlink set p0 up\n');
  ip(['-n', pod, '-batch', '-'], [
    'addr add 198.18.1.10/24 dev eth0',
    'addr add fd00:18:1::10/64 dev eth0 nodad',
    'link set eth0 up',
    'route add default via 198.18.1.1 dev eth0',
    'route add 198.19.0.0/16 via 198.18.1.1 dev eth0 metric 7',
    'route add ::/0 via fd00:18:1::1 dev eth0',
  ].join('\n') + '\n');
  const routes = () => ({
    v4: ipJSON<any[]>(pod, ['-4', 'route', 'show', 'dev', 'eth0']).map((r) => `${r.dst} ${r.gateway ?? ''} ${r.metric ?? ''}`).sort(),
    v6: ipJSON<any[]>(pod, ['-6', 'route', 'show', 'dev', 'eth0']).filter((r) => !r.dst.startsWith('fe80') && r.type !== 'multicast').map((r) => `${r.dst} ${r.gateway ?? ''}`).sort(),
    addresses: ipJSON<any[]>(pod, ['addr', 'show', 'dev', 'eth0'])[0].addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`).sort(),
  });
  const before = routes();
  await setMacLinkDown(new NetnsIp(`/run/netns/${pod}`), 'eth0', '0a:1b:c6:12:01:0a');
  const link = ipJSON<any[]>(pod, ['link', 'show', 'dev', 'eth0'])[0];
  t.equal(link.address, '0a:1b:c6:12:01:0a');
  t.ok(link.flags.includes('UP'), 'up again');
  t.same(routes(), before, 'the same addresses and routes as before the link went down');
});
