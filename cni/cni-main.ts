// The entry of the single executable: one binary for both plugins, chosen by the
// name it is run as (`underpin`, `spiderpool`, `underpin-coordinator`,
// `coordinator`), like busybox. A name it does not know (a copy installed under
// another name) falls back to the network configuration: a top-level `type` naming
// the coordinator runs the coordinator, anything else the IPAM plugin.
import './zod-jitless.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { COORDINATOR_TYPES } from './coordinator/coordinator-config.js';
import { coordinatorHandlers } from './coordinator/coordinator-plugin.js';
import { ipamHandlers } from './ipam/ipam-plugin.js';
import { runPlugin, type PluginIO } from './skel/plugin-skel.js';

const IPAM_NAMES = new Set(['underpin', 'spiderpool', 'underpin-ipam']);
const COORDINATOR_NAMES = new Set<string>(COORDINATOR_TYPES);

function nameOf(path: string | undefined): string {
  return basename(path ?? '').replace(/\.(c?js|ts)$/, '');
}

export async function main(): Promise<number> {
  let stdin: string | undefined;
  const readStdin = () => {
    if (stdin === undefined) {
      try {
        stdin = readFileSync(0, 'utf8');
      } catch {
        stdin = '';
      }
    }
    return stdin;
  };
  const names = [nameOf(process.argv0), nameOf(process.argv[1])];
  let which: 'ipam' | 'coordinator' | undefined;
  for (const name of names) {
    if (IPAM_NAMES.has(name)) which = 'ipam';
    else if (COORDINATOR_NAMES.has(name)) which = 'coordinator';
    if (which) break;
  }
  if (!which) {
    let type: unknown;
    try {
      type = (JSON.parse(readStdin()) as { type?: unknown }).type;
    } catch {
      type = undefined;
    }
    which = typeof type === 'string' && COORDINATOR_NAMES.has(type) ? 'coordinator' : 'ipam';
  }
  const io: PluginIO = {
    env: process.env,
    readStdin,
    writeStdout: (text) => process.stdout.write(text),
  };
  return runPlugin(which === 'coordinator' ? coordinatorHandlers : ipamHandlers, io);
}

/** Runs the plugin and exits with its code once stdout is flushed. */
export function runAndExit(): void {
  void main().then((code) => {
    // Flush stdout before leaving (a pipe may take the write asynchronously).
    if (process.stdout.writableLength === 0) process.exit(code);
    else process.stdout.once('drain', () => process.exit(code));
  });
}
