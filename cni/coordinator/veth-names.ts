// Names and MAC addresses of the underlay veth pair, derived from the container ID
// alone: DEL finds the node's end again without any state, and a repeated call
// plans the same commands.

/** The pod's end, as Spiderpool names it (its `auto` mode looks for it). */
export const POD_VETH = 'veth0';

const LINUX_IFNAMSIZ = 15;

/**
 * The node's end: `veth` and the first 11 characters of the container ID, as
 * Spiderpool names it (containerd and CRI-O IDs are 64 hex digits), so operators
 * and their NetworkManager `unmanaged-devices=interface-name:veth*` rules see the
 * same names. An ID that does not start with 11 hex digits (only test runtimes make
 * those) gets 11 hex digits of its hash instead: a link name must stay within 15
 * characters and carry no '/', ':' or space.
 */
export function hostVethName(containerID: string): string {
  const id = /^[0-9a-fA-F]{11}/.test(containerID) ? containerID.slice(0, 11) : fnv1a64(containerID).slice(0, 11);
  const name = `veth${id}`;
  if (name.length > LINUX_IFNAMSIZ) throw new Error(`host veth name ${name} is longer than ${LINUX_IFNAMSIZ} characters`);
  return name;
}

/**
 * Fixed MAC addresses for both ends (locally administered, unicast: 0a:… in the pod,
 * 0e:… on the node). Known in advance, they go into the static neighbour entries of
 * the same `ip -batch` that creates the pair: no read-back, and no ARP or neighbour
 * discovery across a link where neither end holds the address asked for.
 */
export function vethMacs(containerID: string): { pod: string; node: string } {
  const hex = fnv1a64(`underpin-veth:${containerID}`).slice(0, 10);
  const tail = hex.match(/../g)!.join(':');
  return { pod: `0a:${tail}`, node: `0e:${tail}` };
}

/**
 * 64-bit FNV-1a of the UTF-8 bytes, then MurmurHash3's finaliser so that IDs one
 * character apart differ in every digit; 16 hex digits. (Not node:crypto: it is
 * not in the executable's start-up snapshot.)
 */
function fnv1a64(text: string): string {
  const mask = (1n << 64n) - 1n;
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & mask;
  hash = ((hash ^ (hash >> 33n)) * 0xff51afd7ed558ccdn) & mask;
  hash = ((hash ^ (hash >> 33n)) * 0xc4ceb9fe1a85ec53n) & mask;
  hash ^= hash >> 33n;
  return hash.toString(16).padStart(16, '0');
}
