// Working containers that a killed build left behind, removed so their overlay
// mounts and layers do not pile up in the cache: ours are named with their
// builder's pid and kept while it lives (a test running a command in an image);
// buildah bud's own ("<image>-working-container") can only be a dead build's, since
// this runs under the build lock and bud removes its containers when it ends.
import { z } from 'zod';
import { isAlive } from '../processes.js';
import type { Buildah } from './buildah.js';

/** The names this module's code gives its working containers: underpin-<what>-<pid>. */
export const containerName = (what: string) => `underpin-${what}-${process.pid}`;
const OURS = /^underpin-[a-z-]+-(\d+)$/;

const containerList = z.array(z.object({ id: z.string(), containername: z.string() })).nullable();

export async function removeLeftoverContainers(buildah: Buildah): Promise<void> {
  const { stdout } = await buildah.run(['containers', '--json'], { doing: 'listing buildah working containers' });
  for (const container of containerList.parse(JSON.parse(stdout || '[]')) ?? []) {
    const pid = Number(OURS.exec(container.containername)?.[1]);
    const leftover = (pid && !isAlive(pid)) || container.containername.endsWith('-working-container');
    if (leftover) await buildah.run(['rm', container.id]).catch(() => undefined);
  }
}
