// Entry of the `underpin` IPAM plugin (also installed as `spiderpool`).
import './zod-jitless.js';
import { ipamHandlers } from './ipam/ipam-plugin.js';
import { runPlugin } from './skel/plugin-skel.js';

export function main(): Promise<number> {
  return runPlugin(ipamHandlers);
}

if (process.argv[1] !== undefined && /underpin-ipam\.(ts|js)$/.test(process.argv[1])) {
  void main().then((code) => process.exit(code));
}
