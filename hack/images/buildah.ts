// Buildah, set up to keep everything under the image cache: its storage (--root,
// --runroot), its containers.conf (so netavark's network files go there too), runc's
// state and its temp files. Two choices are probed once and remembered there:
//   - the storage driver: overlay when this kernel and file system mount it, else vfs
//     (a full copy per layer: slower, bigger, works everywhere);
//   - the isolation of RUN steps: runc (buildah's "oci") when it can start a
//     container here, else chroot (for sandboxes that lack capabilities runc needs).
// Each driver has its own storage folder: containers/storage refuses to open a
// folder made by another driver.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ImageCachePaths } from './image-cache.js';
import { runCommand, type RunOptions, type RunResult } from './run-command.js';

export type StorageDriver = 'overlay' | 'vfs';
export type Isolation = 'oci' | 'chroot';

export interface Buildah {
  driver: StorageDriver;
  /** Runs `buildah <global flags> ...args`. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Flags for commands that run processes in a container (bud, run): the isolation,
   * its runc state, and the network. 'none' is honoured under runc; chroot isolation
   * can only share the host's network, so there it means host.
   */
  containerFlags(network: 'none' | 'host'): string[];
  /** Chooses the isolation by starting `probeArgv` in a container of `probeImage` (an image with that binary). */
  probeIsolation(probeImage: string, probeArgv: string[], log: (line: string) => void): Promise<Isolation>;
  /** The image's ID, labels and run config; undefined when the storage has no such image. */
  inspectImage(ref: string): Promise<ImageFacts | undefined>;
  /** The environment buildah runs with (for callers that run it themselves). */
  env: NodeJS.ProcessEnv;
}

const imageConfig = z.object({
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  User: z.string().nullish(),
  Env: z.array(z.string()).nullish(),
  WorkingDir: z.string().nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
});
const inspectOutput = z.object({
  FromImageID: z.string(),
  OCIv1: z.object({ config: imageConfig.optional(), architecture: z.string().optional() }),
});

export interface ImageFacts {
  id: string;
  architecture: string | undefined;
  config: z.infer<typeof imageConfig>;
  labels: Record<string, string>;
}

const verdictFile = (paths: ImageCachePaths, what: string) => join(paths.buildah, `${what}.verdict`);

function remembered<T extends string>(paths: ImageCachePaths, what: string, allowed: readonly T[]): T | undefined {
  const file = verdictFile(paths, what);
  if (!existsSync(file)) return undefined;
  const value = readFileSync(file, 'utf8').trim() as T;
  return allowed.includes(value) ? value : undefined;
}

function remember(paths: ImageCachePaths, what: string, value: string): void {
  writeFileSync(verdictFile(paths, what), `${value}\n`);
}

function globalFlags(paths: ImageCachePaths, driver: StorageDriver): string[] {
  return ['--root', join(paths.buildah, driver, 'storage'), '--runroot', join(paths.buildah, driver, 'run'), '--storage-driver', driver];
}

function buildahEnv(paths: ImageCachePaths): NodeJS.ProcessEnv {
  const tmp = join(paths.buildah, 'tmp');
  const conf = join(paths.buildah, 'containers.conf');
  mkdirSync(tmp, { recursive: true });
  // Without it, netavark writes its network list to /etc/containers/networks. RUN
  // steps use --network host or none, so no network is ever set up from it.
  const text = `[network]\nnetwork_config_dir = "${join(paths.buildah, 'networks')}"\n`;
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== text) {
    // Renamed into place: a buildah started meanwhile (a test inspecting an image) never reads half a file.
    writeFileSync(`${conf}.${process.pid}`, text);
    renameSync(`${conf}.${process.pid}`, conf);
  }
  return { ...process.env, CONTAINERS_CONF: conf, TMPDIR: tmp };
}

async function overlayWorks(paths: ImageCachePaths, env: NodeJS.ProcessEnv): Promise<boolean> {
  const flags = globalFlags(paths, 'overlay');
  const name = `underpin-overlay-probe-${process.pid}`; // as leftover-containers.ts names them
  try {
    await runCommand('buildah', [...flags, 'from', '--name', name, 'scratch'], { env });
    await runCommand('buildah', [...flags, 'mount', name], { env });
    return true;
  } catch {
    return false;
  } finally {
    await runCommand('buildah', [...flags, 'rm', name], { env }).catch(() => undefined);
  }
}

async function chooseDriver(paths: ImageCachePaths, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<StorageDriver> {
  const forced = process.env.UNDERPIN_BUILDAH_DRIVER;
  if (forced === 'overlay' || forced === 'vfs') return forced;
  const known = remembered(paths, 'storage-driver', ['overlay', 'vfs'] as const);
  if (known) return known;
  const driver: StorageDriver = (await overlayWorks(paths, env)) ? 'overlay' : 'vfs';
  if (driver === 'vfs') {
    log('buildah: the overlay storage driver does not work here; using vfs (every layer a full copy)');
    rmSync(join(paths.buildah, 'overlay'), { recursive: true, force: true });
  }
  remember(paths, 'storage-driver', driver);
  return driver;
}

/** Buildah with its storage under `paths.buildah`; fails with what to install when buildah is missing. */
export async function openBuildah(paths: ImageCachePaths, log: (line: string) => void): Promise<Buildah> {
  mkdirSync(paths.buildah, { recursive: true });
  const env = buildahEnv(paths);
  await runCommand('buildah', ['--version'], { env, doing: 'checking for buildah (apt-get install -y buildah)' });
  const driver = await chooseDriver(paths, env, log);
  const flags = globalFlags(paths, driver);
  const runcRoot = join(paths.buildah, 'runc');
  const forcedIsolation = process.env.BUILDAH_ISOLATION === 'chroot' || process.env.BUILDAH_ISOLATION === 'oci' ? process.env.BUILDAH_ISOLATION : undefined;
  let isolation: Isolation | undefined = forcedIsolation ?? remembered(paths, 'isolation', ['oci', 'chroot'] as const);

  const run = (args: string[], options: RunOptions = {}) => runCommand('buildah', [...flags, ...args], { ...options, env: { ...env, ...options.env } });
  const flagsFor = (chosen: Isolation) => (chosen === 'oci' ? ['--isolation', 'oci', '--runtime-flag', `root=${runcRoot}`] : ['--isolation', 'chroot']);

  return {
    driver,
    env,
    run,
    containerFlags(network) {
      if (!isolation) throw new Error('buildah: isolation not chosen yet (probeIsolation runs first)');
      return [...flagsFor(isolation), '--network', isolation === 'chroot' ? 'host' : network];
    },
    async probeIsolation(probeImage, probeArgv, log) {
      if (isolation) return isolation;
      const name = `underpin-isolation-probe-${process.pid}`; // as leftover-containers.ts names them
      try {
        await run(['from', '--pull=never', '--name', name, probeImage]);
        try {
          await run(['run', ...flagsFor('oci'), '--network', 'none', name, '--', ...probeArgv]);
          isolation = 'oci';
        } catch (error) {
          log(`buildah: runc cannot start a container here, RUN steps use --isolation chroot (${(error as Error).message.split('\n')[0]})`);
          isolation = 'chroot';
        }
      } finally {
        await run(['rm', name]).catch(() => undefined);
      }
      remember(paths, 'isolation', isolation);
      return isolation;
    },
    async inspectImage(ref) {
      let stdout: string;
      try {
        ({ stdout } = await run(['inspect', '--type', 'image', ref]));
      } catch (error) {
        if (/image not known|not found|unknown/i.test((error as Error).message)) return undefined;
        throw error;
      }
      const parsed = inspectOutput.parse(JSON.parse(stdout));
      const config = parsed.OCIv1.config ?? {};
      return { id: parsed.FromImageID, architecture: parsed.OCIv1.architecture, config, labels: config.Labels ?? {} };
    },
  };
}
