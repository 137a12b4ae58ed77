// Runs a CNI network configuration list the way a container runtime does (libcni's
// AddNetworkList / DelNetworkList, CNI spec "Execution of network configuration
// lists"): each plugin is the executable named by its "type", found in CNI_PATH, run
// with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH in
// its environment and its configuration on stdin. The list's "name" and
// "cniVersion" are put into every plugin's configuration; on ADD each plugin after
// the first gets the previous one's result as "prevResult"; DEL runs the plugins in
// reverse order, with the cached ADD result as "prevResult" from CNI 0.4.0 on.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkList } from './multus.js';

export interface RuntimeConf {
  containerID: string;
  /** Path of the network namespace, e.g. /run/netns/<name>. */
  netns: string;
  ifname: string;
  /** CNI_ARGS, in order. */
  args: [string, string][];
  /** Directories searched for plugin executables, in order. */
  cniPath: string[];
}

/** What a CNI ADD prints (any version): enough to read the addresses. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes?: { dst: string; gw?: string }[];
  [key: string]: unknown;
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly network: string,
    readonly command: string,
    readonly code: number | undefined,
    detail: string,
  ) {
    super(`plugin type="${plugin}" name="${network}" failed (${command.toLowerCase()})${code !== undefined ? `, CNI error ${code}` : ''}: ${detail}`);
  }
}

const PLUGIN_TIMEOUT_MS = 60_000;

function findPlugin(type: string, cniPath: string[]): string | undefined {
  // A type is a file name, never a path: "../x" must not reach outside CNI_PATH.
  if (type.includes('/')) return undefined;
  return cniPath.map((dir) => join(dir, type)).find((file) => existsSync(file));
}

function execPlugin(command: 'ADD' | 'DEL', config: Record<string, unknown>, rt: RuntimeConf): Promise<string> {
  const type = String(config.type);
  const network = String(config.name);
  const file = findPlugin(type, rt.cniPath);
  if (!file) return Promise.reject(new CniPluginError(type, network, command, undefined, `no executable "${type}" in CNI_PATH ${rt.cniPath.join(':')}`));
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerID,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifname,
    CNI_ARGS: rt.args.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: rt.cniPath.join(':'),
  };
  return new Promise((resolve, reject) => {
    const child = execFile(file, [], { env, encoding: 'utf8', timeout: PLUGIN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      // A failing plugin prints a CNI error on stdout: {"code": n, "msg": "...", "details": "..."}.
      let code: number | undefined;
      let detail = (stderr.trim() || error.message).split('\n').slice(-5).join(' ');
      try {
        const printed = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
        code = printed.code;
        if (printed.msg) detail = printed.details ? `${printed.msg} (${printed.details})` : printed.msg;
      } catch {
        // not a CNI error: the stderr tail above
      }
      reject(new CniPluginError(type, network, command, code, detail));
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(JSON.stringify(config));
  });
}

function pluginConfig(list: NetworkList, plugin: Record<string, unknown>, prevResult: CniResult | undefined): Record<string, unknown> {
  return { ...plugin, name: list.name, cniVersion: list.cniVersion, ...(prevResult !== undefined ? { prevResult } : {}) };
}

/** ADD: each plugin in order, chained by prevResult; the last plugin's result is the list's. */
export async function addNetworkList(list: NetworkList, rt: RuntimeConf): Promise<CniResult> {
  let result: CniResult | undefined;
  if (list.plugins.length === 0) return { cniVersion: list.cniVersion, ips: [] };
  for (const plugin of list.plugins) {
    const stdout = await execPlugin('ADD', pluginConfig(list, plugin, result), rt);
    try {
      result = JSON.parse(stdout) as CniResult;
    } catch {
      throw new CniPluginError(String(plugin.type), list.name, 'ADD', undefined, `printed no JSON result: ${JSON.stringify(stdout.slice(0, 200))}`);
    }
  }
  return result!;
}

function carriesPrevResultOnDel(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 0 || minor >= 4;
}

/**
 * DEL: every plugin in reverse order, each even when an earlier one failed (what is
 * left is in the namespace, which goes next); rejects with the first failure.
 */
export async function delNetworkList(list: NetworkList, rt: RuntimeConf, cachedResult: CniResult | undefined): Promise<void> {
  const prev = carriesPrevResultOnDel(list.cniVersion) ? cachedResult : undefined;
  let first: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await execPlugin('DEL', pluginConfig(list, plugin, prev), rt);
    } catch (error) {
      first ??= error;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * The list as only its IPAM runs it: the main plugin's configuration handed to the
 * executable its "ipam.type" names, as the main plugin would delegate (libcni's
 * invoke.DelegateAdd). No interface is made, so no namespace is needed; what is left
 * is the address management and its API writes. A list without IPAM has nothing to run.
 */
export function ipamOnly(list: NetworkList): NetworkList {
  const main = list.plugins.find((plugin) => typeof (plugin.ipam as { type?: unknown } | undefined)?.type === 'string');
  return { ...list, plugins: main ? [{ ...main, type: (main.ipam as { type: string }).type }] : [] };
}

/** The addresses (without prefix length) of a result, IPv4 first. */
export function resultAddresses(result: CniResult | undefined): string[] {
  const addresses = (result?.ips ?? []).map((entry) => entry.address.split('/')[0]!);
  return [...addresses.filter((a) => !a.includes(':')), ...addresses.filter((a) => a.includes(':'))];
}
