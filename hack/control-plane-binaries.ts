// Locates (building on first use) the control-plane binaries in the shared cache.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoPath } from './repo-paths.js';

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
}

let cached: ControlPlaneBinaries | undefined;

/** Runs hack/build-control-plane.sh (a no-op when cached); its progress shows on stderr. */
export function controlPlaneBinaries(): ControlPlaneBinaries {
  if (cached) return cached;
  const result = spawnSync('bash', [repoPath('hack', 'build-control-plane.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`building the local control plane failed (hack/build-control-plane.sh exited ${result.status ?? result.signal})`);
  }
  const bin = result.stdout.trim().split('\n').pop()!;
  cached = {
    etcd: join(bin, 'etcd'),
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeControllerManager: join(bin, 'kube-controller-manager'),
    kubeScheduler: join(bin, 'kube-scheduler'),
    kubectl: join(bin, 'kubectl'),
  };
  return cached;
}
