// `podMACPrefix`: the NIC's MAC becomes the two configured bytes followed by four
// bytes of its address, as Spiderpool's coordinator makes it — the whole IPv4
// address, or the last four bytes of the IPv6 one — so a pod that keeps its address
// keeps its MAC too (licence servers, switch port security). The IPv4 address when
// the NIC has both, as Spiderpool takes the NIC's first address and the kernel lists
// IPv4 first.
import { parseAddress } from '../../ipam/address.js';
import { CniCode, CniError } from '../skel/cni-error.js';
import type { NetnsIp } from './netns-ip.js';
import type { Family, ObservedRoute } from './route-plan.js';

/** The MAC for `address` (no prefix length) under `prefix` ("0a:1b"). */
export function macFor(prefix: string, address: string): string {
  const parsed = parseAddress(address);
  if (!parsed.ok) throw new Error(`macFor: ${parsed.error}`);
  const value = parsed.value;
  const low32 = Number(value.value & 0xffffffffn);
  const bytes = [24, 16, 8, 0].map((shift) => ((low32 >>> shift) & 0xff).toString(16).padStart(2, '0'));
  return `${prefix}:${bytes.join(':')}`;
}

/** The address the MAC is made from: the NIC's first IPv4 address, else its first IPv6 one. */
export function macSourceAddress(addresses: Record<Family, string[]>): string | undefined {
  return addresses[4][0] ?? addresses[6][0];
}

interface ObservedLink {
  address?: string;
  flags?: string[];
}
interface ObservedAddress {
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

/** The NIC's MAC now, lower case. */
export async function currentMac(ip: NetnsIp, ifname: string): Promise<string> {
  const [link] = await ip.json<ObservedLink[]>(['link', 'show', 'dev', ifname]);
  if (!link?.address) throw new CniError(CniCode.netnsSetup, `underpin-coordinator: ${ifname} has no MAC address in ${ip.netns} (podMACPrefix needs an Ethernet NIC)`);
  return link.address.toLowerCase();
}

/**
 * Sets the NIC's MAC. Live first (macvlan, veth and SR-IOV VFs allow it); a driver
 * that refuses while the link is up (EBUSY) gets it down, changed and up again, and
 * what going down took — its IPv6 addresses and its routes — is put back.
 */
export async function setMac(ip: NetnsIp, ifname: string, mac: string): Promise<void> {
  const live = await ip.batch([`link set dev ${ifname} address ${mac}`]);
  if (live.ok) return;
  if (!/busy/i.test(live.error)) throw macError(ifname, mac, live.error);
  await setMacLinkDown(ip, ifname, mac);
}

/** setMac for a driver that takes a new MAC only while the link is down; exported for its test. */
export async function setMacLinkDown(ip: NetnsIp, ifname: string, mac: string): Promise<void> {
  const [addresses, routes4, routes6] = await Promise.all([
    ip.json<ObservedAddress[]>(['-6', 'addr', 'show', 'dev', ifname, 'scope', 'global']),
    ip.json<ObservedRoute[]>(['-4', 'route', 'show', 'table', 'main', 'dev', ifname]),
    ip.json<ObservedRoute[]>(['-6', 'route', 'show', 'table', 'main', 'dev', ifname]),
  ]);
  const cycled = await ip.batch([`link set dev ${ifname} down`, `link set dev ${ifname} address ${mac}`, `link set dev ${ifname} up`]);
  if (!cycled.ok) {
    await ip.batch([`link set dev ${ifname} up`], true);
    throw macError(ifname, mac, cycled.error);
  }
  // Addresses first: routes through a gateway need its subnet back. `replace` and
  // -force: what survived the down/up is already there.
  const restore6 = (addresses[0]?.addr_info ?? []).map((a) => `addr replace ${a.local}/${a.prefixlen} dev ${ifname} nodad`);
  const routeLine = (r: ObservedRoute) =>
    ['route replace', r.dst, ...(r.gateway ? ['via', r.gateway] : []), 'dev', ifname, ...(r.prefsrc ? ['src', r.prefsrc] : []), ...(r.protocol ? ['proto', r.protocol] : []), ...(r.metric !== undefined ? ['metric', String(r.metric)] : [])].join(' ');
  const byGateway = (a: ObservedRoute, b: ObservedRoute) => Number(a.gateway !== undefined) - Number(b.gateway !== undefined);
  await ip.batchFamily(6, restore6, true);
  await ip.batchFamily(4, routes4.filter((r) => r.type === undefined || r.type === 'unicast').sort(byGateway).map(routeLine), true);
  await ip.batchFamily(6, routes6.filter((r) => !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff') && (r.type === undefined || r.type === 'unicast')).sort(byGateway).map(routeLine), true);
}

function macError(ifname: string, mac: string, cause: string): CniError {
  return new CniError(
    CniCode.netnsSetup,
    `underpin-coordinator: podMACPrefix: setting ${ifname}'s MAC to ${mac} failed (${cause}); ipvlan NICs share their parent's MAC and cannot take one: leave podMACPrefix out for this network`,
  );
}

/** CHECK: the NIC still has the MAC podMACPrefix gave it; what differs, or undefined. */
export async function macProblem(ip: NetnsIp, ifname: string, prefix: string, addresses: Record<Family, string[]>): Promise<string | undefined> {
  const source = macSourceAddress(addresses);
  if (source === undefined) return undefined;
  const want = macFor(prefix, source);
  const have = await currentMac(ip, ifname);
  return have === want ? undefined : `${ifname} has MAC ${have}, not ${want} (podMACPrefix ${prefix} + ${source})`;
}
