// Looks into a built image the way a node would use it, for tests and for
// diagnosing one: its run config (entrypoint, user, working dir) and a command run
// in a container of it, as the image's user, with no network.
import { BUSYBOX_IMAGE } from './base-images.js';
import { openBuildah, type ImageFacts } from './buildah.js';
import { withBuildLock } from './build-lock.js';
import { removingFixedBuildahDirs } from './fixed-buildah-dirs.js';
import { imageCachePaths } from './image-cache.js';
import { containerName } from './leftover-containers.js';
import type { RunResult } from './run-command.js';

export interface InspectOptions {
  cacheDir?: string;
  log?: (line: string) => void;
}

async function buildahFor(options: InspectOptions) {
  const log = options.log ?? (() => undefined);
  const buildah = await openBuildah(imageCachePaths(options.cacheDir), log);
  await buildah.probeIsolation(BUSYBOX_IMAGE, ['/bin/true'], log);
  return buildah;
}

/** Under the build lock, like a build: buildah's fixed-path dirs are made and removed one user at a time. */
function inspecting<T>(options: InspectOptions, work: () => Promise<T>): Promise<T> {
  return withBuildLock(imageCachePaths(options.cacheDir).lock, () => removingFixedBuildahDirs(work), options.log ?? (() => undefined));
}

/** The image's ID and config as stored by buildah; throws when there is no such image (build it first). */
export function imageFacts(ref: string, options: InspectOptions = {}): Promise<ImageFacts> {
  return inspecting(options, async () => {
    const buildah = await openBuildah(imageCachePaths(options.cacheDir), options.log ?? (() => undefined));
    const facts = await buildah.inspectImage(ref);
    if (!facts) throw new Error(`buildah's storage has no image ${ref}; build it first (npm run images)`);
    return facts;
  });
}

/** Runs `argv` in a new container of `ref` (its entrypoint is not used), then removes the container. */
export function runInImage(ref: string, argv: string[], options: InspectOptions & { env?: Record<string, string> } = {}): Promise<RunResult> {
  return inspecting(options, () => runIn(ref, argv, options));
}

async function runIn(ref: string, argv: string[], options: InspectOptions & { env?: Record<string, string> }): Promise<RunResult> {
  const buildah = await buildahFor(options);
  const name = containerName('run');
  await buildah.run(['rm', name]).catch(() => undefined);
  await buildah.run(['from', '--pull=never', '--name', name, ref], { doing: `starting a container of ${ref}` });
  try {
    const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    return await buildah.run(['run', ...buildah.containerFlags('none'), ...env, name, '--', ...argv], { doing: `running ${argv.join(' ')} in ${ref}` });
  } finally {
    await buildah.run(['rm', name]).catch(() => undefined);
  }
}
