// Underpin installed on a local cluster the way users install it: `kubectl apply -k`
// of an overlay over the repository's manifests/ that only points the image at the
// one built here and, with a single real node, runs one controller replica there.
// Simulated nodes never get Underpin's own pods: they cannot run containers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { kubectlOrThrow } from '../control-plane/kubectl.js';
import { eventually, HANG_TIMEOUT_MS } from '../processes.js';
import { repoPath } from '../repo-paths.js';

export interface ManifestsInstallOptions {
  /** Where the overlay is written. */
  dir: string;
  /** The image reference, e.g. localhost/underpin:dev (present in the node's containerd). */
  image: string;
  /** Nodes that may run Underpin's pods (real nodes). */
  nodeName: string;
  /**
   * Whether the plugins are on the node: the installer DaemonSet has no readiness
   * probe (a distroless image has no shell to run one), so Ready says only "started".
   */
  pluginsInstalled: () => Promise<boolean>;
  /** A taint of that node (key=value:Effect) the controller must tolerate; the CNI DaemonSet tolerates every taint already. */
  toleration?: string;
  log?: (line: string) => void;
  timeoutMs?: number;
}

export interface ManifestsInstallTimings {
  /** kubectl apply -k → controller Deployment Available. */
  controllerReadyMs: number;
  /** kubectl apply -k → the CNI installer's plugins and kubeconfig on the node. */
  cniInstalledMs: number;
}

export function splitImage(image: string): { newName: string; newTag: string } {
  const at = image.lastIndexOf(':');
  if (at <= image.lastIndexOf('/')) return { newName: image, newTag: 'latest' };
  return { newName: image.slice(0, at), newTag: image.slice(at + 1) };
}

/** Write the overlay; returns its directory, for `kubectl apply -k`. */
/** The toleration of a taint written key=value:Effect (or key:Effect). */
export function toleration(taint: string): Record<string, string> {
  const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(taint);
  if (!match) throw new Error(`taint ${JSON.stringify(taint)}: expected key=value:Effect`);
  const [, key = '', value, effect = ''] = match;
  return value === undefined ? { key, operator: 'Exists', effect } : { key, operator: 'Equal', value, effect };
}

export function writeOverlay(options: Pick<ManifestsInstallOptions, 'dir' | 'image' | 'nodeName' | 'toleration'>): string {
  mkdirSync(options.dir, { recursive: true });
  const onNode = { spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': options.nodeName } } } } };
  const controllerSpec = { ...onNode.spec.template.spec, ...(options.toleration ? { tolerations: [toleration(options.toleration)] } : {}) };
  writeFileSync(
    join(options.dir, 'kustomization.yaml'),
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [relative(options.dir, repoPath('manifests'))],
      images: [{ name: 'underpin', ...splitImage(options.image) }],
      patches: [
        // One node: a second hostNetwork replica could never be scheduled beside the first.
        { target: { kind: 'Deployment', name: 'underpin-controller' }, patch: stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'underpin-controller' }, spec: { replicas: 1, template: { spec: controllerSpec } } }) },
        { target: { kind: 'DaemonSet', name: 'underpin-cni-installer' }, patch: stringify({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'underpin-cni-installer' }, ...onNode }) },
      ],
    }),
  );
  return options.dir;
}

export async function installFromManifests(plane: LocalControlPlane, options: ManifestsInstallOptions): Promise<ManifestsInstallTimings> {
  const k = (args: string[]) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args);
  const overlay = writeOverlay(options);
  const started = Date.now();
  options.log?.(`kubectl apply -k ${overlay} (manifests/ with image ${options.image})`);
  // Server-side: the CRDs are larger than client-side apply's last-applied annotation allows.
  await k(['apply', '--server-side', '-k', overlay]);
  return waitUntilInstalled(plane, options, started, 'kubectl apply -k');
}

/** Waits for the controller Deployment to be Available and the CNI plugins to be on the node, timed from `started`. */
export async function waitUntilInstalled(plane: LocalControlPlane, options: ManifestsInstallOptions, started: number, how: string): Promise<ManifestsInstallTimings> {
  const k = (args: string[]) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args);
  const timeoutMs = options.timeoutMs ?? HANG_TIMEOUT_MS;
  let cniInstalledMs = 0;
  const cni = eventually(
    'CNI installer ready',
    async () => {
      const ready = await k(['-n', 'underpin-system', 'get', 'daemonset', 'underpin-cni-installer', '-o', 'jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}']);
      const [have, want] = ready.split('/').map(Number);
      if (want! > 0 && have === want && (await options.pluginsInstalled())) cniInstalledMs = Date.now() - started;
      return cniInstalledMs > 0;
    },
    { timeoutMs },
  );
  const controller = k(['-n', 'underpin-system', 'rollout', 'status', 'deployment/underpin-controller', `--timeout=${Math.round(timeoutMs / 1000)}s`]).then(() => Date.now() - started);
  const [controllerReadyMs] = await Promise.all([controller, cni]);
  options.log?.(`controller Ready ${(controllerReadyMs / 1000).toFixed(1)} s, CNI plugins installed ${(cniInstalledMs / 1000).toFixed(1)} s after ${how}`);
  return { controllerReadyMs, cniInstalledMs };
}
