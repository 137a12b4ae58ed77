// Test fixture: a real local control plane with Underpin installed, torn down
// when the test ends. Each test file gets its own instance (own ports and dir).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl, type KubectlResult } from '../../hack/control-plane/kubectl.js';
import { installUnderpin, type UnderpinInstallation, type UnderpinInstallOptions } from '../../hack/dev/underpin-install.js';

export interface LocalCluster {
  plane: LocalControlPlane;
  underpin: UnderpinInstallation;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** The control plane's controllers, and the Underpin install options tests vary. */
export interface LocalClusterOptions extends Pick<UnderpinInstallOptions, 'reconcilerReplicas' | 'reconcilerArgs' | 'webhookArgs' | 'webhookReplicas' | 'restartOnExit'> {
  /** Start kube-controller-manager and kube-scheduler (default true). */
  controllers?: boolean;
  /** kube-controller-manager's --node-monitor-grace-period (default 3600 s: no node is ever taken for lost). */
  nodeMonitorGracePeriodSeconds?: number;
}

export async function startLocalCluster(t: Teardown, options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-it-'));
  const { controllers, nodeMonitorGracePeriodSeconds, ...install } = options;
  const plane = await LocalControlPlane.start({ dir, controllers, nodeMonitorGracePeriodSeconds });
  let underpin: UnderpinInstallation;
  try {
    underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), ...install });
  } catch (error) {
    await plane.stop({ removeData: true });
    throw error;
  }
  t.teardown(async () => {
    await underpin.stop();
    await plane.stop({ removeData: true });
  });
  return {
    plane,
    underpin,
    kubectl: (args, input) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input),
  };
}
