// Underpin installed on a local cluster with Helm, the way Spiderpool's users install:
// `helm install` of charts/underpin (generated from manifests/) with the values that
// the kustomize overlay of manifests-install.ts sets: the image built here, one
// controller replica, Underpin's pods on the real node only.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { helmBinary } from '../control-plane/binaries.js';
import type { LocalControlPlane } from '../control-plane/control-plane.js';
import { type ManifestsInstallOptions, type ManifestsInstallTimings, splitImage, toleration, waitUntilInstalled } from './manifests-install.js';
import { repoPath } from '../repo-paths.js';

export const HELM_RELEASE = 'underpin';
export const HELM_RELEASE_NAMESPACE = 'kube-system';

/** The values file for the real node; returns its path. */
export function writeRealNodeValues(options: Pick<ManifestsInstallOptions, 'dir' | 'image' | 'nodeName' | 'toleration'>): string {
  mkdirSync(options.dir, { recursive: true });
  const { newName, newTag } = splitImage(options.image);
  const onNode = { 'kubernetes.io/hostname': options.nodeName };
  const values = {
    image: { repository: newName, tag: newTag },
    // One node: a second hostNetwork replica could never be scheduled beside the first.
    controller: { replicas: 1, nodeSelector: onNode, ...(options.toleration ? { tolerations: [toleration(options.toleration)] } : {}) },
    cni: { nodeSelector: onNode },
  };
  const path = join(options.dir, 'values.yaml');
  writeFileSync(path, stringify(values));
  return path;
}

/** Runs helm against the local cluster; rejects with its stderr. */
export function helmOn(plane: LocalControlPlane, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(helmBinary(), ['--kubeconfig', plane.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`helm ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

export async function installWithHelm(plane: LocalControlPlane, options: ManifestsInstallOptions): Promise<ManifestsInstallTimings> {
  const values = writeRealNodeValues(options);
  const started = Date.now();
  options.log?.(`helm install ${HELM_RELEASE} charts/underpin -n ${HELM_RELEASE_NAMESPACE} -f ${values}`);
  await helmOn(plane, ['install', HELM_RELEASE, repoPath('charts', 'underpin'), '-n', HELM_RELEASE_NAMESPACE, '-f', values]);
  return waitUntilInstalled(plane, options, started, 'helm install');
}
