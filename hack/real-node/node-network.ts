// The real node's network namespace: like a kind node's container, but with no way
// out at all. It has loopback, the `kubernetes` Service address on loopback (the
// tunnel's node end listens there), `eth0` carrying the node's InternalIP, and
// `underlay0` that pods' macvlan interfaces hang off. Both are veths whose other end
// is in the node too, left without address (this kernel has no dummy links): no
// interface leads out of the namespace and there is no route but the local ones, so
// a packet to any address that is not the node's own fails with "network
// unreachable" before it exists.
import { ip, listNetns } from '../node-simulator/host.js';

/** The node's InternalIP. Only ever reached through the tunnel's CONNECT proxy, inside the node. */
export const NODE_IP = '10.254.0.2';
/** The macvlan master for the node's pods: a dummy, so pod traffic stays on the node. */
export const UNDERLAY_LINK = 'underlay0';

export async function createNodeNetwork(netns: string, serviceIP: string): Promise<void> {
  await ip(['netns', 'add', netns]);
  const inNode = (...args: string[]) => ip(['-n', netns, ...args]);
  await inNode('link', 'set', 'lo', 'up');
  await inNode('addr', 'add', `${serviceIP}/32`, 'dev', 'lo');
  for (const link of ['eth0', UNDERLAY_LINK]) {
    await inNode('link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}-end`);
    await inNode('link', 'set', `${link}-end`, 'up');
    await inNode('link', 'set', link, 'up');
  }
  await inNode('addr', 'add', `${NODE_IP}/32`, 'dev', 'eth0');
}

export async function deleteNodeNetwork(netns: string): Promise<void> {
  if ((await listNetns()).includes(netns)) await ip(['netns', 'delete', netns]);
}
