// Ports for local clusters: free, below the kernel's ephemeral range (where outgoing
// connections never take them), and not handed out twice while their claimant lives.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { canListen, freeLoopbackPorts } from '../../../hack/loopback-ports.js';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

t.test('distinct free ports below the ephemeral range, never repeated for a live claimant', async (t) => {
  const first = await freeLoopbackPorts(20);
  const second = await freeLoopbackPorts(20);
  const all = [...first, ...second];
  t.equal(new Set(all).size, 40, 'forty distinct ports over two calls');
  t.ok(all.every((port) => port >= 20000 && port < Math.min(32768, ephemeralStart)), `all in [20000, ${Math.min(32768, ephemeralStart)})`);
  // Each can be bound now.
  for (const port of first.slice(0, 5)) t.ok(await canListen(port), `port ${port} binds`);
});
