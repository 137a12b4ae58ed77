// Entry of the `underpin-coordinator` chained plugin (also installed as `coordinator`).
import './zod-jitless.js';
import { coordinatorHandlers } from './coordinator/coordinator-plugin.js';
import { runPlugin } from './skel/plugin-skel.js';

export function main(): Promise<number> {
  return runPlugin(coordinatorHandlers);
}

if (process.argv[1] !== undefined && /underpin-coordinator\.(ts|js)$/.test(process.argv[1])) {
  void main().then((code) => process.exit(code));
}
