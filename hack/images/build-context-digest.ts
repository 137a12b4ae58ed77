// What `buildah bud` would see of the checkout, as one digest: the Dockerfile and
// every file its build stage COPYs from the context (path, mode, content). When it
// and the base images are what the last build was made from, the build is skipped:
// even with every layer cached, buildah re-hashes each COPY's source, node_modules
// of the build stage included, some twenty seconds for nothing.
import { createHash, type Hash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The context paths of COPY instructions without --from (comments and continuation lines are not used in our Dockerfile). */
export function contextSources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const line of dockerfile.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== 'COPY' || words.some((w) => w.startsWith('--from='))) continue;
    sources.push(...words.slice(1).filter((w) => !w.startsWith('--')).slice(0, -1));
  }
  return sources;
}

function addPath(hash: Hash, root: string, path: string): void {
  const full = join(root, path);
  const stat = lstatSync(full);
  hash.update(`${path}\0${stat.mode}\0`);
  if (stat.isSymbolicLink()) hash.update(readlinkSync(full));
  else if (stat.isDirectory()) for (const entry of readdirSync(full).sort()) addPath(hash, root, join(path, entry));
  else hash.update(readFileSync(full));
  hash.update('\0');
}

export function buildContextDigest(root: string, dockerfilePath: string, extra: string[]): string {
  const hash = createHash('sha256');
  const dockerfile = readFileSync(dockerfilePath, 'utf8');
  hash.update(dockerfile);
  hash.update(`\0${extra.join('\0')}\0`);
  for (const source of contextSources(dockerfile)) addPath(hash, root, source.replace(/\/$/, ''));
  return hash.digest('hex');
}
