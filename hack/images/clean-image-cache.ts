// Removes the image cache whole (node dist/hack/images/main.js --clean). Not a plain
// rm -rf: buildah's overlay driver keeps its layer folder bind-mounted on itself
// (and a killed build may leave a layer mounted), and mounted folders cannot be
// removed. Images imported into a node's containerd are not touched.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withBuildLock } from './build-lock.js';
import { openBuildah } from './buildah.js';
import { imageCachePaths } from './image-cache.js';
import { runCommand } from './run-command.js';

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((point): point is string => !!point && (point === dir || point.startsWith(`${dir}/`)));
  return mounts.sort((a, b) => b.length - a.length);
}

export async function cleanImageCache(log: (line: string) => void, cacheDir?: string): Promise<void> {
  const paths = imageCachePaths(cacheDir);
  if (!existsSync(paths.root)) return;
  await withBuildLock(
    paths.lock,
    async () => {
      const buildah = await openBuildah(paths, log);
      await buildah.run(['rm', '--all']).catch(() => undefined);
      await buildah.run(['rmi', '--all', '--force']).catch(() => undefined);
      for (const point of mountsUnder(paths.buildah)) {
        await runCommand('umount', [point], { doing: `unmounting ${point}` });
      }
      for (const entry of ['buildah', 'archives', 'debs', 'npm', 'logs', 'underpin-image.stamp.json']) rmSync(join(paths.root, entry), { recursive: true, force: true });
      log(`removed ${paths.root}`);
    },
    log,
  );
}
