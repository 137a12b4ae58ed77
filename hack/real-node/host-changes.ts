// What a real node changes on the machine, written down before it is changed so a
// teardown, or the next start after a crash, can undo it: kernel sysctls kubelet
// sets (global, not per namespace), mountpoint directories that did not exist, the
// node's cgroups, its network namespace, and its processes.
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { isAlive, sleep } from '../processes.js';
import { deleteNodeNetwork } from './node-network.js';

/**
 * The sysctls kubelet v1.34's setupKernelTunables writes (pkg/kubelet/cm/
 * container_manager_linux.go): all six, or the keys ones stay raised after a run.
 */
export const KUBELET_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
] as const;
/** Host directories the node binds its own over (see node-init.sh) that may not exist yet. */
export const NODE_MOUNTPOINTS = ['/etc/cni', '/opt/cni'] as const;

export const HostChanges = z.object({
  node: z.string(),
  netns: z.string(),
  cgroupRoot: z.string().regex(/^\/[a-z0-9.-]+$/),
  sysctls: z.record(z.string(), z.string()),
  createdDirs: z.array(z.string()),
  dir: z.string(),
  /** Who started the node: a node outlives its starter only when persistent (dev:up). */
  owner: z.object({ pid: z.number().int(), persistent: z.boolean() }),
  /** node-init.sh's supervisor (the `unshare` process), once started. */
  supervisorPid: z.number().int().optional(),
  /**
   * Processes outside the node's namespaces and cgroups (the tunnel's host relay),
   * each with a piece of its command line, so a reused pid is never killed.
   */
  hostProcesses: z.array(z.object({ pid: z.number().int(), commandIncludes: z.string() })).default([]),
});
export type HostChanges = z.infer<typeof HostChanges>;

export function readHostChanges(file: string): HostChanges | undefined {
  if (!existsSync(file)) return undefined;
  const fix = 'remove it after checking `ip netns list` and /sys/fs/cgroup by hand';
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not a real node's record of host changes (not JSON: ${(error as Error).message}); ${fix}`, { cause: error });
  }
  const parsed = HostChanges.safeParse(json);
  if (!parsed.success) {
    const why = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
    throw new Error(`${file} is not a real node's record of host changes (${why}); ${fix}`, { cause: parsed.error });
  }
  return parsed.data;
}

function writeTemporary(file: string, changes: HostChanges): string {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.new`;
  writeFileSync(temporary, JSON.stringify(changes, null, 2) + '\n');
  return temporary;
}

/** Replace the record whole (a reader never sees half of it). */
export function writeHostChanges(file: string, changes: HostChanges): void {
  renameSync(writeTemporary(file, changes), file);
}

/**
 * Create the record only if there is none: link(2) of a complete file fails when
 * the name exists, so of two starts at once exactly one claims the node.
 */
export function claimHostChanges(file: string, changes: HostChanges): boolean {
  const temporary = writeTemporary(file, changes);
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`recording the real node in ${file}: ${(error as Error).message}`, { cause: error });
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * Whether the recorded node is still someone's: its starter lives (it will stop
 * the node), or it was started to outlive its starter (dev:up) and its supervisor
 * runs. A node whose starter died (a test killed mid-run) is a leftover, to sweep.
 */
export function nodeInUse(changes: HostChanges): boolean {
  if (isAlive(changes.owner.pid)) return true;
  return changes.owner.persistent && changes.supervisorPid !== undefined && isAlive(changes.supervisorPid);
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

export function readSysctls(): Record<string, string> {
  return Object.fromEntries(KUBELET_SYSCTLS.map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()]));
}

/** Create the mountpoints that are missing; returns those it created, to remove at teardown. */
export function createMountpoints(): string[] {
  const created: string[] = [];
  for (const dir of NODE_MOUNTPOINTS) {
    if (existsSync(dir)) continue;
    mkdirSync(dir, { recursive: true });
    created.push(dir);
  }
  return created;
}

/** Every mounted cgroup hierarchy (v1 controllers, named hierarchies, the v2 unified one). */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4]!)
    .filter((mount, i, all) => all.indexOf(mount) === i);
}

/** Make `root` in every hierarchy; a new v1 cpuset starts empty and takes no task until given its parent's cpus and mems. */
export function createCgroupRoot(root: string): void {
  for (const mount of cgroupMounts()) {
    const dir = join(mount, root);
    mkdirSync(dir, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = join(dir, file);
      if (existsSync(own) && readFileSync(own, 'utf8').trim() === '') writeFileSync(own, readFileSync(join(mount, file), 'utf8'));
    }
  }
}

function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const below = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => cgroupTree(join(dir, entry.name)));
  return [...below, dir]; // deepest first, for rmdir
}

function pidsInCgroups(root: string): number[] {
  return cgroupMounts()
    .flatMap((mount) => cgroupTree(join(mount, root)))
    .flatMap((dir) => {
      try {
        return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
}

function namespaceOf(pid: string, kind: 'net' | 'mnt'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Processes inside the node: in its network namespace (containerd, kubelet, shims, the tunnel) or its cgroups (containers). */
export function nodeProcesses(changes: Pick<HostChanges, 'netns' | 'cgroupRoot'>): number[] {
  const netnsFile = `/run/netns/${changes.netns}`;
  const pids = new Set(pidsInCgroups(changes.cgroupRoot));
  if (existsSync(netnsFile)) {
    const inode = statSync(netnsFile).ino;
    const wanted = `net:[${inode}]`;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      if (Number(pid) !== process.pid && namespaceOf(pid, 'net') === wanted) pids.add(Number(pid));
    }
  }
  return [...pids];
}

/** Kill every process of the node until none is left (containers included). */
export async function killNodeProcesses(changes: Pick<HostChanges, 'netns' | 'cgroupRoot'>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = nodeProcesses(changes);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`real node: processes ${pids.join(', ')} survive SIGKILL; check them with ps -o pid,stat,cmd -p ${pids.join(',')}`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await sleep(100);
  }
}

/** Undo everything `changes` records, in the order that lets each step succeed; idempotent. */
export async function undoHostChanges(file: string, changes: HostChanges): Promise<void> {
  for (const { pid, commandIncludes } of changes.hostProcesses) {
    if (!commandLineOf(pid).includes(commandIncludes)) continue;
    try {
      process.kill(-pid, 'SIGKILL'); // its own process group (startProcess detaches)
    } catch {
      // gone meanwhile
    }
  }
  await killNodeProcesses(changes);
  // With its last process gone the node's mount namespace is gone, and with it every
  // mount kubelet and containerd made; the pods' network namespaces were bind mounts in it.
  for (const mount of cgroupMounts()) {
    for (const dir of cgroupTree(join(mount, changes.cgroupRoot))) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`removing cgroup ${dir}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  await deleteNodeNetwork(changes.netns);
  for (const [key, value] of Object.entries(changes.sysctls)) {
    if (readFileSync(`/proc/sys/${key}`, 'utf8').trim() !== value) writeFileSync(`/proc/sys/${key}`, value);
  }
  for (const dir of changes.createdDirs) {
    try {
      rmdirSync(dir);
    } catch {
      // not empty: something else put files there since; leave it
    }
  }
  // The node's own /var/lib, /run, /opt/cni… (unpacked images: most of a gigabyte); its logs and configuration stay.
  rmSync(join(changes.dir, 'root'), { recursive: true, force: true });
  // Only this record: a start may have claimed the name anew meanwhile.
  const now = existsSync(file) ? readHostChanges(file) : undefined;
  if (now && now.dir === changes.dir && now.owner.pid === changes.owner.pid) rmSync(file, { force: true });
}
