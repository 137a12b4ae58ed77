// buildah (containers/image, netavark) keeps a blob-info cache and a network config
// dir at fixed paths for root, whatever --root and --runroot say. The machine is
// shared: what a build or an inspection made there is removed again when it ends.
import { existsSync, rmSync } from 'node:fs';

const FIXED_BUILDAH_DIRS = ['/var/lib/containers', '/run/containers'];

/** Run `work` (holding the build lock, so no other build uses the dirs meanwhile), then remove the fixed dirs it created. */
export async function removingFixedBuildahDirs<T>(work: () => Promise<T>): Promise<T> {
  const made = FIXED_BUILDAH_DIRS.filter((dir) => !existsSync(dir));
  try {
    return await work();
  } finally {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  }
}
