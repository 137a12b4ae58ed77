// The `underpin` IPAM plugin (installed also as `spiderpool`): ADD prints the
// addresses the webhook bound to the pod for CNI_IFNAME, CHECK verifies they are
// still the pod's, DEL has nothing to release (addresses belong to the pod, not to
// the sandbox; the reconciler frees them when the pod is gone).
import { ApiReader } from '../kube/api-reader.js';
import { loadKubeconfig } from '../kube/kubeconfig.js';
import { interfaceEntry, readBoundPod, verifyClaims } from '../kube/pod-binding.js';
import { CniCode, CniError } from '../skel/cni-error.js';
import { podReference, type CniEnvironment } from '../skel/cni-env.js';
import { formatResult, readPrevResult } from '../skel/cni-result.js';
import { PluginLog, parseLogLevel } from '../skel/plugin-log.js';
import type { PluginHandlers, RawNetworkConfig } from '../skel/plugin-skel.js';
import { readIpamConfig, type IpamNetworkConfig } from './ipam-config.js';
import { ipamResult } from './ipam-result.js';

function logFor(config: IpamNetworkConfig, env: CniEnvironment): PluginLog {
  return new PluginLog(config.ipam.log_file_path || undefined, parseLogLevel(config.ipam.log_level), {
    plugin: 'underpin',
    command: env.command,
    containerID: env.containerID,
    ifname: env.ifname,
    pod: `${env.args.get('K8S_POD_NAMESPACE') ?? ''}/${env.args.get('K8S_POD_NAME') ?? ''}`,
  });
}

async function boundEntry(env: CniEnvironment, config: IpamNetworkConfig) {
  const pod = podReference(env.args, false);
  const reader = await ApiReader.open(loadKubeconfig(config.kubeconfigPath));
  try {
    const bound = await readBoundPod(reader, pod);
    const entry = interfaceEntry(bound, env.ifname);
    await verifyClaims(reader, bound, entry);
    return { bound, entry };
  } finally {
    reader.close();
  }
}

export const ipamHandlers: PluginHandlers = {
  async add(env: CniEnvironment, raw: RawNetworkConfig) {
    const config = readIpamConfig(raw.json);
    const log = logFor(config, env);
    const started = Date.now();
    try {
      const { bound, entry } = await boundEntry(env, config);
      const result = ipamResult(bound.binding, entry, { cleanGateway: config.ipam.clean_gateway === true, ...(config.dns ? { dns: config.dns } : {}) });
      log.write('info', 'ADD', { ips: result.ips.map((ip) => ip.address), ms: Date.now() - started });
      return formatResult(result, raw.cniVersion);
    } catch (error) {
      log.write('error', 'ADD failed', { error: (error as Error).message, ms: Date.now() - started });
      throw error;
    }
  },

  async check(env: CniEnvironment, raw: RawNetworkConfig) {
    const config = readIpamConfig(raw.json);
    const log = logFor(config, env);
    try {
      const prev = readPrevResult(raw.json, 'underpin CHECK');
      if (!prev) throw new CniError(CniCode.invalidNetworkConfig, 'CHECK needs prevResult in the network configuration (the result of ADD)');
      const { bound, entry } = await boundEntry(env, config);
      const expected = ipamResult(bound.binding, entry, { cleanGateway: config.ipam.clean_gateway === true }).ips.map((ip) => ip.address);
      const actual = prev.ips.map((ip) => ip.address);
      const missing = expected.filter((a) => !actual.includes(a));
      const extra = actual.filter((a) => !expected.includes(a));
      if (missing.length > 0 || extra.length > 0) {
        throw new CniError(
          CniCode.checkMismatch,
          `pod ${bound.pod.namespace}/${bound.pod.name}, ${env.ifname}: the pod is bound to ${expected.join(', ')} but the sandbox has ${actual.join(', ') || 'no address'}`,
        );
      }
      log.write('debug', 'CHECK ok', { ips: expected });
    } catch (error) {
      log.write('error', 'CHECK failed', { error: (error as Error).message });
      throw error;
    }
  },

  async del(env: CniEnvironment, raw: RawNetworkConfig | undefined) {
    // Nothing to release: never touch the API, never fail.
    if (!raw) return;
    try {
      logFor(readIpamConfig(raw.json), env).write('debug', 'DEL');
    } catch {
      // unreadable config: still nothing to do
    }
  },
};
