// Underpin's image from the repository's own Dockerfile, as a user builds it, but
// with buildah and the local base images in place of node:24-bookworm and
// distroless. --layers keeps every step's result, so a rebuild re-runs only from
// the first step whose inputs changed (npm ci only when package*.json did); when
// nothing it copies changed at all, buildah is not run (build-context-digest.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { repoPath } from '../repo-paths.js';
import { NODE_BUILD_IMAGE, NODE_RUNTIME_IMAGE } from './base-images.js';
import { buildContextDigest } from './build-context-digest.js';
import type { Buildah } from './buildah.js';
import type { BuiltImage } from './build-base-image.js';
import type { ImageCachePaths } from './image-cache.js';

export const UNDERPIN_IMAGE = 'localhost/underpin:dev';

export interface BaseImageIds {
  build: string;
  runtime: string;
}

const stampSchema = z.object({ context: z.string(), imageId: z.string(), layers: z.array(z.string()).default([]) });

/** The IDs of the images bud made or reused for its steps, in step order, from its output ("--> 7c0ae8d7cd8", "--> Using cache <id>"). */
export function stepImages(budOutput: string): string[] {
  // bud prints 11 characters of a new step's ID and all 64 of a reused one.
  const ids = [...budOutput.matchAll(/^--> (?:Using cache )?([0-9a-f]{11,64})$/gm)].map((m) => m[1]!.slice(0, 11));
  return [...new Set(ids)];
}

/**
 * --layers keeps every step's image; those of an earlier build that this one no
 * longer uses (a step whose input changed, and all after it) would pile up, some
 * hundred MiB per change. Removed last step first, children before parents;
 * buildah refuses one that something still uses, which is then kept.
 */
async function dropSupersededSteps(buildah: Buildah, previous: string[], current: string[]): Promise<void> {
  const keep = new Set(current);
  for (const id of [...previous].reverse()) if (!keep.has(id)) await buildah.run(['rmi', id]).catch(() => undefined);
}

function readStamp(file: string): z.infer<typeof stampSchema> | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = stampSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

export async function buildUnderpinImage(buildah: Buildah, paths: ImageCachePaths, bases: BaseImageIds, log: (line: string) => void): Promise<BuiltImage> {
  const started = Date.now();
  const dockerignore = repoPath('.dockerignore');
  const context = buildContextDigest(repoPath(), repoPath('Dockerfile'), [
    `build=${bases.build}`,
    `runtime=${bases.runtime}`,
    existsSync(dockerignore) ? readFileSync(dockerignore, 'utf8') : '',
  ]);
  const stampFile = join(paths.root, 'underpin-image.stamp.json');
  const stamp = readStamp(stampFile);
  const before = await buildah.inspectImage(UNDERPIN_IMAGE);
  if (before && stamp?.context === context && stamp.imageId === before.id) return { ref: UNDERPIN_IMAGE, imageId: before.id, rebuilt: false };

  const logFile = join(paths.logs, 'underpin-image.log');
  writeFileSync(logFile, '');
  log(`building ${UNDERPIN_IMAGE} from ${repoPath('Dockerfile')} (buildah bud --layers; output in ${logFile})`);
  await buildah.run(
    [
      'bud',
      '--layers',
      '--pull=never', // the bases are local images; there is no registry to ask
      '--force-rm', // a failed step's container too, or its overlay mount stays
      // The one network use: `npm ci` reaches the npm registry. Host network, so no
      // container network (bridge, NAT rules) is set up on the host for it.
      ...buildah.containerFlags('host'),
      '--build-arg', `BUILD_IMAGE=${NODE_BUILD_IMAGE}`,
      '--build-arg', `RUNTIME_IMAGE=${NODE_RUNTIME_IMAGE}`,
      '--file', repoPath('Dockerfile'),
      '--tag', UNDERPIN_IMAGE,
      repoPath(),
    ],
    { logFile, doing: `building ${UNDERPIN_IMAGE}` },
  );
  const layers = stepImages(readFileSync(logFile, 'utf8'));
  const built = await buildah.inspectImage(UNDERPIN_IMAGE);
  if (!built) throw new Error(`buildah bud finished but its storage does not know ${UNDERPIN_IMAGE}; see ${logFile}`);
  writeFileSync(stampFile, JSON.stringify({ context, imageId: built.id, layers }));
  await dropSupersededSteps(buildah, stamp?.layers ?? [], [...layers, built.id.slice(0, 11)]);
  const rebuilt = before?.id !== built.id;
  log(`${rebuilt ? 'built' : 'unchanged:'} ${UNDERPIN_IMAGE} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { ref: UNDERPIN_IMAGE, imageId: built.id, rebuilt };
}
