// Locates (building on first use) the Go-built binaries in the shared cache: the
// control plane with kubelet, the reference CNI plugins, helm, and Whereabouts for
// the peer benchmark.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoPath } from '../repo-paths.js';

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kubelet: string;
}

let cached: ControlPlaneBinaries | undefined;
let pluginDir: string | undefined;

/** Runs one of the build scripts (a no-op when cached); its progress shows on stderr, its last stdout line is a directory. */
function runBuildScript(script: string, args: string[], doing: string): string {
  const result = spawnSync('bash', [repoPath('hack', 'control-plane', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`${doing} failed: hack/control-plane/${script} exited ${result.status ?? result.signal} (its reason is in the lines above); fix that and re-run`);
  }
  return result.stdout.trim().split('\n').pop()!;
}

/** Runs hack/control-plane/build-control-plane.sh, which also builds the reference CNI plugins. */
export function controlPlaneBinaries(): ControlPlaneBinaries {
  if (cached) return cached;
  const bin = runBuildScript('build-control-plane.sh', [], 'building the local control plane');
  cached = {
    etcd: join(bin, 'etcd'),
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeControllerManager: join(bin, 'kube-controller-manager'),
    kubeScheduler: join(bin, 'kube-scheduler'),
    kubectl: join(bin, 'kubectl'),
    kubelet: join(bin, 'kubelet'),
  };
  return cached;
}

/** The directory of the reference CNI plugins (macvlan, ipvlan, bridge, loopback, host-local, static), built by hack/control-plane/build-cni-plugins.sh on first use. */
export function referencePluginDir(): string {
  pluginDir ??= runBuildScript('build-cni-plugins.sh', [], 'building the reference CNI plugins');
  return pluginDir;
}

/** Where referencePluginDir() has or will have the plugins, without building them (for messages and for code that checks first). */
export function referencePluginDirUnbuilt(): string {
  return runBuildScript('build-cni-plugins.sh', ['--dir'], 'locating the reference CNI plugins');
}

let helmDir: string | undefined;

/** The helm executable (helm.sh/helm/v4), built by hack/control-plane/build-helm.sh on first use. */
export function helmBinary(): string {
  helmDir ??= runBuildScript('build-helm.sh', [], 'building helm');
  return join(helmDir, 'helm');
}

export interface WhereaboutsBuild {
  /** The CNI IPAM plugin executable. */
  plugin: string;
  /** Its CRDs (whereabouts.cni.cncf.io_*.yaml), to apply before the first ADD. */
  crdsDir: string;
  /** The ClusterRole its DaemonSet grants the plugin, for a least-privilege identity. */
  rbac: string;
}

let whereaboutsDir: string | undefined;

/** Whereabouts (the peer benchmark's IPAM plugin), built by hack/control-plane/build-whereabouts.sh on first use. */
export function whereaboutsBuild(): WhereaboutsBuild {
  whereaboutsDir ??= runBuildScript('build-whereabouts.sh', [], 'building Whereabouts');
  return { plugin: join(whereaboutsDir, 'bin', 'whereabouts'), crdsDir: join(whereaboutsDir, 'crds'), rbac: join(whereaboutsDir, 'rbac.yaml') };
}
