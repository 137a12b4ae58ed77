// Where image builds keep their state: ${UNDERPIN_CACHE:-~/.cache/underpin}/images,
// beside the control-plane binaries. Buildah's storage, downloaded packages, the
// exported archives and their stamps all live there, so nothing outside it changes
// on the host and removing it starts every image from scratch.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function underpinCacheDir(): string {
  return process.env.UNDERPIN_CACHE ?? join(homedir(), '.cache', 'underpin');
}

export interface ImageCachePaths {
  root: string;
  /** Buildah's storage (--root/--runroot per driver), containers.conf, runc state, temp files. */
  buildah: string;
  /** Debian packages fetched with apt-get download, one folder per name=version. */
  debs: string;
  /** npm package tarballs, by name and version. */
  npm: string;
  /** The exported image archives and their stamps. */
  archives: string;
  /** Logs of the long steps (buildah bud). */
  logs: string;
  /** Held while images are built, so two builds (two test files) never race. */
  lock: string;
}

export function imageCachePaths(root = join(underpinCacheDir(), 'images')): ImageCachePaths {
  return {
    root,
    buildah: join(root, 'buildah'),
    debs: join(root, 'debs'),
    npm: join(root, 'npm'),
    archives: join(root, 'archives'),
    logs: join(root, 'logs'),
    lock: join(root, 'build.lock'),
  };
}
