// The coordinator's plan, without a namespace: which table, which commands, and
// that every command has its undo.
import t from 'tap';
import { FROM_RULE_PREF, planNicRouting, rulesToDelete, tableFor, type ObservedRoute } from '../../cni/coordinator/route-plan.js';

t.test('tables: 100 for the second NIC, 101 for the third; the first only when it does not keep the default', async (t) => {
  t.equal(tableFor(0, 3, true), undefined);
  t.equal(tableFor(1, 3, false), 100);
  t.equal(tableFor(2, 3, true), 101);
  t.equal(tableFor(0, 3, false), 102);
  t.equal(tableFor(0, 1, false), undefined, 'a single NIC never gets a table');
});

const kernel4: ObservedRoute = { dst: '10.7.0.0/24', protocol: 'kernel', scope: 'link', prefsrc: '10.7.0.9' };
const bindingRoute: ObservedRoute = { dst: '10.20.0.0/16', gateway: '10.7.0.1', protocol: 'boot' };
const kernel6: ObservedRoute = { dst: 'fd00:7::/64', protocol: 'kernel', metric: 256 };
const linkLocal: ObservedRoute = { dst: 'fe80::/64', protocol: 'kernel', metric: 256 };

t.test('a second NIC, dual-stack: copies (no-gateway first), default in its table, from rules', async (t) => {
  const plan = planNicRouting(
    { ifname: 'net1', addresses: { 4: ['10.7.0.9'], 6: ['fd00:7::9'] }, gateways: { 4: '10.7.0.1', 6: 'fd00:7::1' }, table: 100, keepsDefault: false },
    { 4: [bindingRoute, kernel4], 6: [kernel6, linkLocal] },
  );
  t.same(plan[4].map((s) => s.run), [
    'route add 10.7.0.0/24 dev net1 src 10.7.0.9 scope link proto 85 table 100',
    'route add 10.20.0.0/16 via 10.7.0.1 dev net1 proto 85 table 100',
    'route add 0.0.0.0/0 via 10.7.0.1 dev net1 proto 85 table 100',
    `rule add from 10.7.0.9 lookup 100 pref ${FROM_RULE_PREF} protocol 85`,
  ]);
  t.same(plan[6].map((s) => s.run), [
    'route add fd00:7::/64 dev net1 metric 256 proto 85 table 100',
    'route add ::/0 via fd00:7::1 dev net1 proto 85 table 100',
    `rule add from fd00:7::9 lookup 100 pref ${FROM_RULE_PREF} protocol 85`,
  ], 'fe80::/64 stays in main only');
  t.same(plan[4].map((s) => s.undo), [
    'route del 10.7.0.0/24 dev net1 src 10.7.0.9 scope link table 100',
    'route del 10.20.0.0/16 via 10.7.0.1 dev net1 table 100',
    'route del 0.0.0.0/0 via 10.7.0.1 dev net1 table 100',
    `rule del from 10.7.0.9 lookup 100 pref ${FROM_RULE_PREF} protocol 85`,
  ]);
});

t.test('a NIC that must not keep the default route loses it from main (and gets it back on undo)', async (t) => {
  const plan = planNicRouting(
    { ifname: 'eth0', addresses: { 4: ['10.6.0.5'], 6: [] }, gateways: { 4: '10.6.0.1' }, table: 101, keepsDefault: false },
    { 4: [{ dst: 'default', gateway: '10.6.0.1', protocol: 'boot' }, { dst: '10.6.0.0/16', protocol: 'kernel', scope: 'link', prefsrc: '10.6.0.5' }], 6: [] },
  );
  const runs = plan[4].map((s) => s.run);
  t.same(runs.slice(-1), ['route del 0.0.0.0/0 via 10.6.0.1 dev eth0 table main']);
  t.same(plan[4].at(-1)!.undo, 'route add 0.0.0.0/0 via 10.6.0.1 dev eth0 proto boot table main');
  t.equal(runs.filter((r) => r.startsWith('route add 0.0.0.0/0')).length, 1, 'the default copied once, not added twice');
});

t.test('the NIC that keeps the default: in main, through its gateway, when the IPAM result gave it none', async (t) => {
  const plan = planNicRouting(
    { ifname: 'net1', addresses: { 4: ['10.7.0.9'], 6: [] }, gateways: { 4: '10.7.0.1' }, table: 100, keepsDefault: true },
    { 4: [kernel4], 6: [] },
  );
  t.same(plan[4].at(-1), { run: 'route replace 0.0.0.0/0 via 10.7.0.1 dev net1 proto 85 table main', undo: 'route del 0.0.0.0/0 via 10.7.0.1 dev net1 table main' });
  const first = planNicRouting({ ifname: 'eth0', addresses: { 4: ['10.6.0.5'], 6: [] }, gateways: { 4: '10.6.0.1' }, table: undefined, keepsDefault: true }, { 4: [{ dst: 'default', gateway: '10.6.0.1' }], 6: [] });
  t.same(first, { 4: [], 6: [] }, 'first NIC with its default already there: nothing to do');
});

t.test('DEL finds its own rules by protocol and table', async (t) => {
  const rules = [
    { priority: 0, src: 'all', table: 'local' },
    { priority: 32000, src: '10.7.0.9', table: '100', protocol: '85' },
    { priority: 32000, src: '10.8.0.9', table: '101', protocol: '85' },
    { priority: 32100, src: '10.7.0.9', table: '100' },
    { priority: 32766, src: 'all', table: 'main' },
  ];
  t.same(rulesToDelete(rules, new Set(['100'])), ['rule del from 10.7.0.9 lookup 100 pref 32000']);
});
