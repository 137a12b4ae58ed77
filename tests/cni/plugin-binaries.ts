// The plugin executables a test runs, the way a container runtime runs them:
// environment + network configuration on stdin, result or error on stdout.
//
// UNDERPIN_CNI_BIN=<dir> runs the built single executables (dist/cni/bin after
// `node dist/cni/build-executables.js`); otherwise the same bundle esbuild makes
// for them is run by this Node, through small wrapper scripts named like the
// plugins (so CNI_PATH lookups by the reference plugins work the same).
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundle, repoRoot } from '../../cni/build-executables.js';
import { referencePluginDirUnbuilt } from '../../hack/control-plane/binaries.js';

/** The reference plugins (macvlan, ...), built from Go; canUseNetns() builds them when missing, or says why it could not. */
export const REFERENCE_PLUGINS = referencePluginDirUnbuilt();
const NAMES = ['underpin', 'spiderpool', 'underpin-coordinator', 'coordinator'];

export interface PluginBinaries {
  dir: string;
  cleanup(): void;
}

export async function pluginBinaries(): Promise<PluginBinaries> {
  const given = process.env.UNDERPIN_CNI_BIN;
  if (given) {
    const dir = resolve(given);
    if (!existsSync(join(dir, 'underpin'))) throw new Error(`UNDERPIN_CNI_BIN=${given}: no underpin executable there`);
    return { dir, cleanup: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'underpin-cni-bin-'));
  const script = join(dir, 'bundle.cjs');
  await bundle(repoRoot(), script);
  for (const name of NAMES) {
    copyFileSync(script, join(dir, `${name}.cjs`));
    writeFileSync(join(dir, name), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, `${name}.cjs`)}" "$@"\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
  ms: number;
}

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  config: unknown;
  containerID?: string;
  netns?: string;
  ifname?: string;
  args?: Record<string, string> | string;
  path?: string;
  /** Runs it inside this named network namespace (ip netns exec). */
  inNetns?: string;
  extraEnv?: Record<string, string | undefined>;
}

export function runPluginBinary(executable: string, call: PluginCall): Promise<PluginRun> {
  const args = typeof call.args === 'string' ? call.args : Object.entries(call.args ?? {}).map(([k, v]) => `${k}=${v}`).join(';');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: call.command };
  if (call.containerID !== undefined) env.CNI_CONTAINERID = call.containerID;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifname !== undefined) env.CNI_IFNAME = call.ifname;
  if (args !== '') env.CNI_ARGS = args;
  if (call.path !== undefined) env.CNI_PATH = call.path;
  for (const [k, v] of Object.entries(call.extraEnv ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const file = call.inNetns ? 'ip' : executable;
  const argv = call.inNetns ? ['netns', 'exec', call.inNetns, executable] : [];
  const input = typeof call.config === 'string' ? call.config : JSON.stringify(call.config);
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const child = execFile(file, argv, { env, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      let json: unknown;
      try {
        json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolvePromise({ code, stdout, stderr, json, ms: performance.now() - started });
    });
    // A program that exits without reading stdin (true, a failing plugin) must not fail the caller.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}
