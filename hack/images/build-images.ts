// Builds every image the local clusters need, each only when its inputs changed,
// and exports each as an archive for `ctr -n k8s.io images import`:
//   - localhost/underpin:dev, from the Dockerfile on the two local Node 24 bases;
//   - localhost/underpin/pause:local, the pod sandbox (kubelet's --pod-infra-container-image
//     or containerd's sandbox_image);
//   - localhost/busybox:local, a shell for test pods;
//   - the bases themselves, localhost/underpin/node-runtime:24 and node-build:24.
// Needs root, buildah, gcc with libc6-dev, apt's package lists (apt-get update), and
// the npm registry for npm packages the first time.
import { mkdirSync } from 'node:fs';
import { BUSYBOX_IMAGE, busybox, nodeBuild, nodeRuntime, pause, type BaseImageRecipe } from './base-images.js';
import { buildBaseImage } from './build-base-image.js';
import { withBuildLock } from './build-lock.js';
import { removingFixedBuildahDirs } from './fixed-buildah-dirs.js';
import { openBuildah, type Buildah } from './buildah.js';
import { exportArchive, type ImageArchive } from './image-archive.js';
import { imageCachePaths, type ImageCachePaths } from './image-cache.js';
import { removeLeftoverContainers } from './leftover-containers.js';
import { buildUnderpinImage } from './underpin-image.js';

export type { ImageArchive } from './image-archive.js';

export interface BuildImagesOptions {
  /** Progress lines; silent when not given. */
  log?: (line: string) => void;
  /** The cache folder; ${UNDERPIN_CACHE:-~/.cache/underpin}/images by default. */
  cacheDir?: string;
}

export interface BaseImageArchives {
  pause: ImageArchive;
  busybox: ImageArchive;
  nodeRuntime: ImageArchive;
  nodeBuild: ImageArchive;
}

export interface ImageArchives extends BaseImageArchives {
  underpin: ImageArchive;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new Error('building the images needs root (buildah mounts layers and lays out files owned by other users); run it as root');
}

async function baseImages(buildah: Buildah, paths: ImageCachePaths, log: (line: string) => void): Promise<BaseImageArchives> {
  const archive = async (recipe: BaseImageRecipe) => {
    const built = await buildBaseImage(buildah, paths, recipe, log);
    return exportArchive(buildah, built.ref, built.imageId, paths.archives, log);
  };
  // busybox first: it needs no RUN step, and its shell is what probes how RUN steps can be isolated here.
  const busyboxArchive = await archive(busybox);
  await buildah.probeIsolation(BUSYBOX_IMAGE, ['/bin/true'], log);
  return { busybox: busyboxArchive, pause: await archive(pause), nodeRuntime: await archive(nodeRuntime), nodeBuild: await archive(nodeBuild) };
}

async function prepared<T>(options: BuildImagesOptions, work: (buildah: Buildah, paths: ImageCachePaths, log: (line: string) => void) => Promise<T>): Promise<T> {
  requireRoot();
  const log = options.log ?? (() => undefined);
  const paths = imageCachePaths(options.cacheDir);
  for (const dir of [paths.root, paths.debs, paths.npm, paths.archives, paths.logs]) mkdirSync(dir, { recursive: true });
  return withBuildLock(
    paths.lock,
    () =>
      removingFixedBuildahDirs(async () => {
        const buildah = await openBuildah(paths, log);
        await removeLeftoverContainers(buildah);
        return work(buildah, paths, log);
      }),
    log,
  );
}

/** The base images only (pause, busybox, the Node 24 bases): what a node needs before Underpin's own image. */
export function buildBaseImages(options: BuildImagesOptions = {}): Promise<BaseImageArchives> {
  return prepared(options, baseImages);
}

/** Every image, Underpin's included, as archives to import into a node's containerd. */
export function buildImages(options: BuildImagesOptions = {}): Promise<ImageArchives> {
  return prepared(options, async (buildah, paths, log) => {
    const bases = await baseImages(buildah, paths, log);
    const underpin = await buildUnderpinImage(buildah, paths, { build: bases.nodeBuild.imageId, runtime: bases.nodeRuntime.imageId }, log);
    return { ...bases, underpin: await exportArchive(buildah, underpin.ref, underpin.imageId, paths.archives, log) };
  });
}
