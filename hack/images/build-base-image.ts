// Makes one base image from its recipe, unless the image in buildah's storage was
// made from the same inputs (the digest is a label on the image): an empty working
// container from scratch, mounted, laid out, configured, committed.
import { inputsDigest, type BaseImageRecipe } from './base-images.js';
import type { Buildah } from './buildah.js';
import type { ImageCachePaths } from './image-cache.js';
import { containerName } from './leftover-containers.js';

export const INPUTS_LABEL = 'dev.underpin.image.inputs';

export interface BuiltImage {
  ref: string;
  imageId: string;
  /** False when the stored image was already made from these inputs. */
  rebuilt: boolean;
}

function configFlags(recipe: BaseImageRecipe, digest: string): string[] {
  const { entrypoint, cmd, user, workingDir, env } = recipe.config;
  return [
    ...(entrypoint ? ['--entrypoint', JSON.stringify(entrypoint)] : []),
    ...(cmd ? ['--cmd', JSON.stringify(cmd)] : []),
    ...(user ? ['--user', user] : []),
    ...(workingDir ? ['--workingdir', workingDir] : []),
    ...Object.entries(env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    '--os', 'linux',
    '--arch', 'amd64',
    '--label', `${INPUTS_LABEL}=${digest}`,
  ];
}

export async function buildBaseImage(buildah: Buildah, paths: ImageCachePaths, recipe: BaseImageRecipe, log: (line: string) => void): Promise<BuiltImage> {
  const inputs = await recipe.inputs(paths);
  const digest = inputsDigest(inputs);
  const stored = await buildah.inspectImage(recipe.ref);
  if (stored?.labels[INPUTS_LABEL] === digest) return { ref: recipe.ref, imageId: stored.id, rebuilt: false };

  const started = Date.now();
  log(`building ${recipe.ref} (${Object.entries(inputs).filter(([k]) => k !== 'layout').map(([k, v]) => `${k} ${v.length > 20 ? v.slice(0, 12) : v}`).join(', ')})`);
  const doing = `building ${recipe.ref}`;
  const container = containerName('base');
  await buildah.run(['rm', container]).catch(() => undefined);
  await buildah.run(['from', '--name', container, 'scratch'], { doing });
  try {
    const { stdout } = await buildah.run(['mount', container], { doing });
    try {
      await recipe.lay(stdout.trim(), paths, inputs);
    } catch (error) {
      throw new Error(`${doing} failed while laying out its files: ${(error as Error).message}`, { cause: error });
    } finally {
      await buildah.run(['umount', container], { doing });
    }
    await buildah.run(['config', ...configFlags(recipe, digest), container], { doing });
    await buildah.run(['commit', '--quiet', '--rm', container, recipe.ref], { doing });
  } catch (error) {
    await buildah.run(['rm', container]).catch(() => undefined);
    throw error;
  }
  const built = await buildah.inspectImage(recipe.ref);
  if (!built) throw new Error(`${doing}: buildah committed it, but its storage does not know ${recipe.ref}`);
  // The image it replaces lost its name; drop it unless something was built on it
  // (then buildah refuses, and the layer cache of that build stays usable).
  if (stored && stored.id !== built.id) await buildah.run(['rmi', stored.id]).catch(() => undefined);
  log(`built ${recipe.ref} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { ref: recipe.ref, imageId: built.id, rebuilt: true };
}
