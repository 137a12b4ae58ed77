// Test fixture: a real local control plane with Underpin installed, torn down
// when the test ends. Each test file gets its own instance (own ports and dir).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalControlPlane } from '../../hack/control-plane.js';
import { runKubectl, type KubectlResult } from '../../hack/kubectl.js';
import { installUnderpin, type UnderpinInstallation } from '../../hack/underpin-install.js';

export interface LocalCluster {
  plane: LocalControlPlane;
  underpin: UnderpinInstallation;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface LocalClusterOptions {
  /** Start kube-controller-manager and kube-scheduler (default true). */
  controllers?: boolean;
  /** Reconciler replicas Underpin's install starts (default 1; 0 for tests that start their own). */
  reconcilerReplicas?: number;
  /** Extra arguments for the reconciler replicas. */
  reconcilerArgs?: string[];
  /** Extra arguments for the webhook replicas. */
  webhookArgs?: string[];
  /** Webhook replicas behind the loopback balancer (default 2). */
  webhookReplicas?: number;
}

export async function startLocalCluster(t: Teardown, options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-it-'));
  const plane = await LocalControlPlane.start({ dir, controllers: options.controllers });
  let underpin: UnderpinInstallation;
  try {
    underpin = await installUnderpin(plane, { dir: join(dir, 'underpin'), reconcilerReplicas: options.reconcilerReplicas, reconcilerArgs: options.reconcilerArgs, webhookArgs: options.webhookArgs, webhookReplicas: options.webhookReplicas });
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
