// The four images made here instead of pulled (no image registry is reachable from
// the development machine or CI): what each is made of, what decides its content
// (a change rebuilds it), and how it runs.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { repoPath } from '../repo-paths.js';
import { candidateVersions, debianPackage, installedVersion } from './debian-packages.js';
import type { ImageCachePaths } from './image-cache.js';
import { NPM_VERSION, npmCliTarball, repositoryNode } from './npm-packages.js';
import { CA_BUNDLE_PATH, distrolessAccounts, layAccounts, layBusybox, layCaBundle, layGlibc, layNode, layNpm, layPause, NODE_PATH } from './rootfs-layout.js';

export interface RunConfig {
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workingDir?: string;
  env?: Record<string, string>;
}

export interface BaseImageRecipe {
  ref: string;
  /** Everything its content depends on, as name → version or hash. */
  inputs(paths: ImageCachePaths): Promise<Record<string, string>>;
  /** Lays its whole file system into `root` (an empty, mounted working container). */
  lay(root: string, paths: ImageCachePaths, inputs: Record<string, string>): Promise<void>;
  config: RunConfig;
}

export const NODE_RUNTIME_IMAGE = 'localhost/underpin/node-runtime:24';
export const NODE_BUILD_IMAGE = 'localhost/underpin/node-build:24';
export const PAUSE_IMAGE = 'localhost/underpin/pause:local';
export const BUSYBOX_IMAGE = 'localhost/busybox:local';

const GLIBC_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6'];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PAUSE_SOURCE = repoPath('hack', 'images', 'pause.c');

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** The layout code itself is an input: editing how an image is laid out rebuilds it. (The TypeScript source, so tests under tsx and the CLI from dist/ agree.) */
function layoutCode(): string {
  return sha256(['base-images.ts', 'rootfs-layout.ts'].map((f) => readFileSync(repoPath('hack', 'images', f), 'utf8')).join('\0'));
}

/** Every Debian package any recipe takes, looked up in one apt-cache call. */
const ALL_DEBIAN_PACKAGES = [...GLIBC_PACKAGES, 'busybox-static'];

async function debianVersions(names: string[]): Promise<Record<string, string>> {
  await candidateVersions(ALL_DEBIAN_PACKAGES); // one apt-cache call serves every recipe
  const versions = await candidateVersions(names);
  return Object.fromEntries(Object.entries(versions).map(([name, version]) => [`deb:${name}`, version]));
}

async function debs(names: string[], paths: ImageCachePaths, inputs: Record<string, string>) {
  return Promise.all(names.map((name) => debianPackage(name, paths.debs, inputs[`deb:${name}`])));
}

/**
 * The CA bundle the host's Node trusts (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE or
 * Debian's): `npm ci` in the build stage must trust whatever the host's npm trusts,
 * a TLS-inspecting proxy's CA included, or it fails with SELF_SIGNED_CERT_IN_CHAIN.
 * node:24-bookworm has Debian's bundle at the same path.
 */
function hostCaBundle(): string | undefined {
  return [process.env.NODE_EXTRA_CA_CERTS, process.env.SSL_CERT_FILE, CA_BUNDLE_PATH].find((f): f is string => !!f && existsSync(f));
}

async function layNodeRuntime(root: string, paths: ImageCachePaths, inputs: Record<string, string>, rootShell: string): Promise<void> {
  await layGlibc(root, await debs(GLIBC_PACKAGES, paths, inputs));
  layNode(root, repositoryNode().path);
  layAccounts(root, distrolessAccounts(rootShell));
}

export const nodeRuntime: BaseImageRecipe = {
  ref: NODE_RUNTIME_IMAGE,
  async inputs() {
    return { layout: layoutCode(), node: repositoryNode().version, ...(await debianVersions(GLIBC_PACKAGES)) };
  },
  lay: (root, paths, inputs) => layNodeRuntime(root, paths, inputs, '/sbin/nologin'),
  // As gcr.io/distroless/nodejs24-debian12:nonroot.
  config: { entrypoint: [NODE_PATH], user: '65532', workingDir: '/home/nonroot', env: { PATH } },
};

export const nodeBuild: BaseImageRecipe = {
  ref: NODE_BUILD_IMAGE,
  async inputs() {
    const ca = hostCaBundle();
    return {
      layout: layoutCode(),
      node: repositoryNode().version,
      npm: NPM_VERSION,
      ...(ca ? { 'ca-bundle': sha256(readFileSync(ca)) } : {}),
      ...(await debianVersions([...GLIBC_PACKAGES, 'busybox-static'])),
    };
  },
  async lay(root, paths, inputs) {
    await layNodeRuntime(root, paths, inputs, '/bin/sh');
    const [busybox] = await debs(['busybox-static'], paths, inputs);
    await layBusybox(root, busybox!);
    await layNpm(root, await npmCliTarball(paths.npm));
    const ca = hostCaBundle();
    if (ca) layCaBundle(root, ca);
  },
  // As node:24-bookworm: root, node and npm on PATH, `node` by default.
  // NODE_EXTRA_CA_CERTS: Node's own CA list plus the bundle (a missing file is only a
  // warning). No update notice: npm would ask the registry at every npm run.
  config: { cmd: ['node'], workingDir: '/', env: { PATH: `/nodejs/bin:${PATH}`, HOME: '/root', NODE_EXTRA_CA_CERTS: CA_BUNDLE_PATH, NPM_CONFIG_UPDATE_NOTIFIER: 'false' } },
};

export const pause: BaseImageRecipe = {
  ref: PAUSE_IMAGE,
  async inputs() {
    // The compiler and static libc that run here, not apt's candidates.
    return { layout: layoutCode(), 'pause.c': sha256(readFileSync(PAUSE_SOURCE)), gcc: await installedVersion('gcc'), 'libc6-dev': await installedVersion('libc6-dev') };
  },
  lay: (root) => layPause(root, PAUSE_SOURCE),
  // As registry.k8s.io/pause: its own user, nothing but /pause.
  config: { entrypoint: ['/pause'], user: '65535:65535' },
};

export const busybox: BaseImageRecipe = {
  ref: BUSYBOX_IMAGE,
  async inputs() {
    return { layout: layoutCode(), ...(await debianVersions(['busybox-static'])) };
  },
  async lay(root, paths, inputs) {
    const [pkg] = await debs(['busybox-static'], paths, inputs);
    await layBusybox(root, pkg!);
    layAccounts(root, [
      { name: 'root', uid: 0, home: '/root', shell: '/bin/sh' },
      { name: 'nobody', uid: 65534, home: '/nonexistent', shell: '/bin/false' },
    ]);
  },
  config: { cmd: ['sh'], env: { PATH } },
};

/** The digest of a recipe's inputs, kept as a label on the image it built. */
export function inputsDigest(inputs: Record<string, string>): string {
  return sha256(JSON.stringify(Object.entries(inputs).sort(([a], [b]) => a.localeCompare(b))));
}
