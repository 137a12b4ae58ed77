// Underpin as users run it, on the local control plane: its image built from the
// Dockerfile, a real node running it, and `kubectl apply -k` of manifests/. Shared
// by `npm run dev:up -- --real-node` (and so the demo) and the real-node tests.
import { join } from 'node:path';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { controlPlaneBinaries, referencePluginDir } from '../control-plane/binaries.js';
import { buildImages, type ImageArchives } from '../images/build-images.js';
import { installWithHelm } from './helm-install.js';
import { installFromManifests, type ManifestsInstallTimings } from './manifests-install.js';
import { RealNode } from './real-node.js';

export interface UnderpinOnRealNodeOptions {
  dir: string;
  persistent?: boolean;
  log?: (line: string) => void;
  /**
   * Taint the node so that only pods which say so run on it. The dev cluster's
   * simulated nodes run the seed's two-NIC pods; the real node has no Multus.
   */
  taint?: string;
  /** How Underpin is installed: `kubectl apply -k manifests/` (default) or `helm install` of charts/underpin. */
  installer?: 'kustomize' | 'helm';
  /** Runs once the node is Ready, before Underpin is installed: the cluster as it was before (a Spiderpool one, for migration tests). */
  beforeInstall?: (node: RealNode) => Promise<void>;
}

export interface UnderpinOnRealNode {
  node: RealNode;
  images: ImageArchives;
  timings: ManifestsInstallTimings & { imagesMs: number; nodeReadyMs: number };
}

export async function startUnderpinOnRealNode(plane: LocalControlPlane, options: UnderpinOnRealNodeOptions): Promise<UnderpinOnRealNode> {
  const log = options.log ?? (() => {});
  let started = Date.now();
  log('building the images (pause, busybox, Node 24 bases, Underpin from ./Dockerfile) with buildah');
  const images = await buildImages({ log });
  const imagesMs = Date.now() - started;
  started = Date.now();
  const node = await RealNode.start({
    plane,
    binaries: { kubelet: controlPlaneBinaries().kubelet, referencePlugins: referencePluginDir() },
    dir: join(options.dir, 'node'),
    images: [images.pause.archive, images.busybox.archive, images.underpin.archive],
    ...(options.taint ? { taints: [options.taint] } : {}),
    ...(options.persistent ? { persistent: true } : {}),
    log,
  });
  const nodeReadyMs = Date.now() - started;
  try {
    await options.beforeInstall?.(node);
    const install = await (options.installer === 'helm' ? installWithHelm : installFromManifests)(plane, {
      dir: join(options.dir, 'install'),
      image: images.underpin.ref,
      nodeName: node.name,
      pluginsInstalled: () => node.exec(['test', '-x', '/opt/cni/bin/underpin', '-a', '-s', '/etc/cni/net.d/underpin.d/underpin.kubeconfig']).then(() => true, () => false),
      ...(options.taint ? { toleration: options.taint } : {}),
      log,
    });
    return { node, images, timings: { imagesMs, nodeReadyMs, ...install } };
  } catch (error) {
    await node.stop();
    throw error;
  }
}
