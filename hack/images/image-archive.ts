// An image as a file that `ctr -n k8s.io images import` takes: a docker-archive
// (docker save's format), which keeps the image's name and tag, unlike an
// oci-archive, whose index names only the tag. Written again only when the image
// changed: a stamp beside the archive holds the ID it was written from.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Buildah } from './buildah.js';

export interface ImageArchive {
  /** The name containerd lists after the import, e.g. localhost/underpin:dev. */
  ref: string;
  /** Absolute path of the docker-archive tar. */
  archive: string;
  /** buildah's image ID (the config digest, without sha256:), to tell whether an import is current. */
  imageId: string;
  /** Bytes of the archive (uncompressed layers). */
  bytes: number;
}

/** localhost/underpin/node-runtime:24 → underpin_node-runtime_24.tar */
export function archiveName(ref: string): string {
  return `${ref.replace(/^localhost\//, '').replace(/[/:@]/g, '_')}.tar`;
}

export async function exportArchive(buildah: Buildah, ref: string, imageId: string, dir: string, log: (line: string) => void): Promise<ImageArchive> {
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, archiveName(ref));
  const stamp = `${archive}.image-id`;
  const current = existsSync(archive) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === imageId;
  if (!current) {
    const started = Date.now();
    const partial = `${archive}.partial-${process.pid}`;
    rmSync(partial, { force: true });
    rmSync(stamp, { force: true });
    await buildah.run(['push', '--quiet', ref, `docker-archive:${partial}:${ref}`], { doing: `exporting ${ref} to ${archive}` });
    renameSync(partial, archive);
    writeFileSync(stamp, `${imageId}\n`);
    log(`exported ${ref} to ${archive} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return { ref, archive, imageId, bytes: statSync(archive).size };
}
