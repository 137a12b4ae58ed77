// Working containers that a killed build left behind (each is named with its
// builder's pid): removed, so their mounts and layers do not pile up in the cache.
// Containers of live processes (a test running a command in an image) are kept.
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
    if (pid && !isAlive(pid)) await buildah.run(['rm', container.id]).catch(() => undefined);
  }
}
