// Runs before `npm test`, `npm run demo` and `npm run dev:up` (and from .ci/run), so
// they work on a fresh machine, each step a no-op once done:
//   1. Debian packages whose commands are missing (as root, through apt-get);
//   2. node_modules from the lock file when missing or older than package-lock.json;
//   3. the Go parts: control plane with kubelet, reference CNI plugins
//      (hack/control-plane/build-control-plane.sh; cached outside the checkout).
// Plain JavaScript: it runs before TypeScript exists.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.error(`[ensure-dependencies] ${line}`);

// Package → how to tell it is there. By command rather than by dpkg's record, so a
// containerd or runc installed some other way (Docker's containerd.io, a tarball)
// counts and is not replaced.
const PACKAGES = [
  ['iproute2', () => onPath('ip')],
  ['util-linux', () => onPath('flock') && onPath('nsenter')],
  ['procps', () => onPath('sysctl')],
  ['iputils-ping', () => onPath('ping')],
  // The coordinator's detectIPConflict and detectGateway (ARP and IPv6 neighbour
  // discovery in the pod's namespace); tests/cni/probe-netns.test.ts.
  ['iputils-arping', () => onPath('arping')],
  ['ndisc6', () => onPath('ndisc6')],
  // For a real node and for image builds.
  ['containerd', () => onPath('containerd')],
  ['runc', () => onPath('runc')],
  ['buildah', () => onPath('buildah')],
  // Static, because it is copied into images that have no libc.
  ['busybox-static', () => isStaticExecutable(onPath('busybox'))],
];

/** The executable `name` on PATH (or in the sbin directories a non-root PATH may lack), or undefined. */
function onPath(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether `file` is a 64-bit little-endian ELF executable without a program interpreter (PT_INTERP), i.e. statically linked. */
function isStaticExecutable(file) {
  if (file === undefined) return false;
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false;
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
}

function ensureDebianPackages() {
  const missing = PACKAGES.filter(([, present]) => !present()).map(([name]) => name);
  if (missing.length === 0) return;
  const how = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    say(`not root, so not installing the Debian packages ${missing.join(', ')}; the steps that need them skip or fail. To have them: sudo sh -c '${how}'`);
    return;
  }
  if (!onPath('apt-get')) {
    say(`missing ${missing.join(', ')} (Debian package names) and there is no apt-get here; install their equivalents with this system's package manager`);
    return;
  }
  say(`installing Debian packages: ${missing.join(' ')} (apt-get, once)`);
  // Waits for another apt-get (unattended upgrades, a parallel run) instead of failing on its lock.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [[...lock, 'update', '-qq'], [...lock, 'install', '-y', '-qq', ...missing]]) {
    // Quiet unless it fails; then all it said, to find the reason in.
    const result = run('apt-get', args, { env });
    if (result.status !== 0) {
      process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
      say(`apt-get ${args.slice(lock.length).join(' ')} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}); fix what it said above, or run: ${how}`);
      process.exit(1);
    }
  }
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing node modules (npm ci)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say(`npm ci failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}); fix what it said above and re-run`);
    process.exit(result.status ?? 1);
  }
}

function ensureGoParts() {
  // Its progress (first run only) on stderr; the bin directory it prints is not needed here.
  const result = spawnSync('bash', [join(root, 'hack', 'control-plane', 'build-control-plane.sh')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) {
    say(`building the Go parts failed (hack/control-plane/build-control-plane.sh: ${result.error?.message ?? `exit ${result.status ?? result.signal}`}; the reason is above)`);
    process.exit(result.status ?? 1);
  }
}

ensureDebianPackages();
ensureNodeModules();
ensureGoParts();
