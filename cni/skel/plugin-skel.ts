// The part every CNI plugin shares: read the command and stdin, check the version,
// run the command, print the result or the error, set the exit code.
// (The role of skel in containernetworking/cni.)
import { readFileSync, writeSync } from 'node:fs';
import { CniCode, CniError, asCniError } from './cni-error.js';
import { readCommand, readEnvironment, type CniCommand, type CniEnvironment } from './cni-env.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, allowsCheck, isSupportedVersion, type CniVersion } from './cni-versions.js';

/** The network configuration on stdin, as far as the skel reads it. */
export interface RawNetworkConfig {
  cniVersion: CniVersion;
  /** The whole parsed object, for the plugin's own schema. */
  json: Record<string, unknown>;
}

export interface PluginHandlers {
  /** Returns the result object to print (its cniVersion is set by the skel). */
  add(env: CniEnvironment, config: RawNetworkConfig): Promise<Record<string, unknown>>;
  check(env: CniEnvironment, config: RawNetworkConfig): Promise<void>;
  /** Errors are logged by the handler if it wants; DEL always exits 0 (see runPlugin). */
  del(env: CniEnvironment, config: RawNetworkConfig | undefined): Promise<void>;
}

export interface PluginIO {
  env: NodeJS.ProcessEnv;
  readStdin(): string;
  writeStdout(text: string): void;
}

const processIO: PluginIO = {
  env: process.env,
  readStdin: () => {
    try {
      return readFileSync(0, 'utf8');
    } catch {
      return '';
    }
  },
  writeStdout: (text) => {
    // Synchronous, so nothing is lost when the process exits right after.
    const buffer = Buffer.from(text);
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(1, buffer, offset);
  },
};

/** Runs one plugin call; resolves to the exit code. */
export async function runPlugin(handlers: PluginHandlers, io: PluginIO = processIO): Promise<number> {
  let cniVersion: string = LATEST_VERSION;
  let command: CniCommand | undefined;
  try {
    command = readCommand(io.env);
    const stdin = io.readStdin();
    if (command === 'VERSION') {
      const requested = tryVersionOf(stdin);
      if (requested !== undefined && isSupportedVersion(requested)) cniVersion = requested;
      io.writeStdout(JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS }) + '\n');
      return 0;
    }
    if (command === 'DEL') {
      // DEL must succeed whatever the state, or the runtime retries it forever and
      // the pod never goes away: a config or environment we cannot read means there
      // is nothing of ours to release.
      let config: RawNetworkConfig | undefined;
      try {
        config = parseNetworkConfig(stdin);
      } catch {
        config = undefined;
      }
      try {
        await handlers.del(readEnvironmentLenient(io.env), config);
      } catch {
        // already logged by the handler where it can be
      }
      return 0;
    }
    const config = parseNetworkConfig(stdin);
    cniVersion = config.cniVersion;
    const env = readEnvironment(io.env, command);
    if (command === 'CHECK') {
      if (!allowsCheck(config.cniVersion)) {
        throw new CniError(CniCode.incompatibleVersion, `CHECK is not defined for cniVersion ${config.cniVersion}; use 0.4.0 or later`);
      }
      await handlers.check(env, config);
      return 0;
    }
    const result = await handlers.add(env, config);
    io.writeStdout(JSON.stringify({ cniVersion: config.cniVersion, ...result }) + '\n');
    return 0;
  } catch (error) {
    const cniError = asCniError(error);
    io.writeStdout(JSON.stringify(cniError.toJSON(cniVersion)) + '\n');
    return 1;
  }
}

function readEnvironmentLenient(env: NodeJS.ProcessEnv): CniEnvironment {
  try {
    return readEnvironment(env, 'DEL');
  } catch {
    return { command: 'DEL', containerID: env.CNI_CONTAINERID ?? '', netns: env.CNI_NETNS ?? '', ifname: env.CNI_IFNAME ?? '', args: new Map(), path: env.CNI_PATH ?? '' };
  }
}

function tryVersionOf(stdin: string): string | undefined {
  try {
    const parsed = JSON.parse(stdin) as unknown;
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { cniVersion?: unknown }).cniVersion === 'string') {
      return (parsed as { cniVersion: string }).cniVersion;
    }
  } catch {
    // VERSION tolerates an empty or unreadable stdin
  }
  return undefined;
}

export function parseNetworkConfig(stdin: string): RawNetworkConfig {
  if (stdin.trim() === '') {
    throw new CniError(CniCode.decodingFailure, 'no network configuration on stdin: the runtime passes the network config (JSON) on standard input');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (error) {
    throw new CniError(
      CniCode.decodingFailure,
      `the network configuration on stdin is not JSON (${(error as Error).message}); check the NetworkAttachmentDefinition's spec.config or the .conflist in /etc/cni/net.d`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CniError(CniCode.decodingFailure, 'the network configuration on stdin must be a JSON object');
  }
  const json = parsed as Record<string, unknown>;
  const version = json.cniVersion;
  if (typeof version !== 'string' || version === '') {
    throw new CniError(CniCode.invalidNetworkConfig, `the network configuration has no cniVersion; set "cniVersion" to one of ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (!isSupportedVersion(version)) {
    throw new CniError(
      CniCode.incompatibleVersion,
      `incompatible CNI versions: the network configuration says cniVersion ${JSON.stringify(version)}, Underpin supports ${SUPPORTED_VERSIONS.join(', ')}; change "cniVersion" in the network configuration`,
    );
  }
  return { cniVersion: version, json };
}
