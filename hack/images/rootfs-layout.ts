// The pieces the base images are made of, each laid into a root file system folder
// (a mounted buildah working container). Layouts follow the images they stand in
// for: gcr.io/distroless/nodejs24-debian12 (Node at /nodejs/bin/node, glibc and
// libstdc++ from Debian, user nonroot 65532, no shell), node:24-bookworm for the
// build stage (a shell, coreutils, node and npm on PATH), registry.k8s.io/pause and
// busybox.
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { unpackDebianPackage, type DebianPackage } from './debian-packages.js';
import { unpackNpmCli } from './npm-packages.js';
import { runCommand } from './run-command.js';

/** Where the upstream distroless Node images keep node; the Dockerfile's ENTRYPOINT names it. */
export const NODE_PATH = '/nodejs/bin/node';

export interface Account {
  name: string;
  uid: number;
  home: string;
  shell: string;
}

/** distroless's accounts: root, nonroot (65532, what `:nonroot` images run as) and nobody. */
export function distrolessAccounts(rootShell: string): Account[] {
  return [
    { name: 'root', uid: 0, home: '/root', shell: rootShell },
    { name: 'nobody', uid: 65534, home: '/nonexistent', shell: '/sbin/nologin' },
    { name: 'nonroot', uid: 65532, home: '/home/nonroot', shell: '/sbin/nologin' },
  ];
}

/** Debian's copyright notes, manuals and debugger helpers: nothing runs them. */
const UNNEEDED = ['usr/share/doc', 'usr/share/lintian', 'usr/share/man', 'usr/share/gdb', 'usr/share/gcc', 'usr/share/info'];

/** glibc, libgcc_s and libstdc++ from their Debian packages: what the Node binary links against. */
export async function layGlibc(root: string, packages: DebianPackage[]): Promise<void> {
  for (const pkg of packages) await unpackDebianPackage(pkg, root);
  for (const path of UNNEEDED) rmSync(join(root, path), { recursive: true, force: true });
}

/** /etc/passwd and /etc/group with one group per account, home folders owned by their account, /tmp, nsswitch.conf. */
export function layAccounts(root: string, accounts: Account[]): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), accounts.map((a) => `${a.name}:x:${a.uid}:${a.uid}:${a.name}:${a.home}:${a.shell}\n`).join(''));
  writeFileSync(join(root, 'etc/group'), accounts.map((a) => `${a.name}:x:${a.uid}:\n`).join(''));
  for (const account of accounts) {
    if (account.home === '/nonexistent') continue;
    const home = join(root, account.home);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    chownSync(home, account.uid, account.uid);
  }
  const tmp = join(root, 'tmp');
  mkdirSync(tmp, { recursive: true });
  chmodSync(tmp, 0o1777);
  // glibc's default without the file puts DNS before /etc/hosts; distroless ships this.
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
}

export function layNode(root: string, nodeBinary: string): void {
  const target = join(root, NODE_PATH);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(nodeBinary, target);
  chmodSync(target, 0o755);
}

function linkUnlessPresent(root: string, path: string, target: string): void {
  const link = join(root, path);
  try {
    lstatSync(link);
    return; // a real file (or an earlier link) wins
  } catch {
    // absent: make it
  }
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(target, link);
}

/** busybox-static at /bin/busybox with a link for each applet, as `busybox --install -s` would, but from outside. */
export async function layBusybox(root: string, pkg: DebianPackage): Promise<void> {
  await unpackDebianPackage(pkg, root);
  for (const path of UNNEEDED) rmSync(join(root, path), { recursive: true, force: true });
  const busybox = join(root, 'bin/busybox');
  if (!existsSync(busybox)) throw new Error(`${pkg.file} has no bin/busybox; is it busybox-static?`);
  // The binary is static, so the host can run it to list its own applets.
  const { stdout } = await runCommand(busybox, ['--list-full'], { doing: 'listing busybox applets' });
  for (const applet of stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    linkUnlessPresent(root, applet, relative(dirname(join(root, applet)), busybox));
  }
}

/** npm and npx in /usr/local/bin, and node there too, since npm's scripts start with `#!/usr/bin/env node`. */
export async function layNpm(root: string, tarball: string): Promise<void> {
  const npm = await unpackNpmCli(tarball, root);
  linkUnlessPresent(root, 'usr/local/bin/npm', relative(join(root, 'usr/local/bin'), join(npm, 'bin/npm-cli.js')));
  linkUnlessPresent(root, 'usr/local/bin/npx', relative(join(root, 'usr/local/bin'), join(npm, 'bin/npx-cli.js')));
  linkUnlessPresent(root, 'usr/local/bin/node', NODE_PATH);
}

/** Where Debian (and so node:24-bookworm) keeps its CA bundle. */
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';

/** The host's CA bundle at Debian's path, for a build stage that must reach the npm registry as the host does. */
export function layCaBundle(root: string, hostBundle: string): void {
  const target = join(root, CA_BUNDLE_PATH);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(hostBundle, target);
  chmodSync(target, 0o644);
}

/** /pause compiled from pause.c, static and stripped. */
export async function layPause(root: string, source: string): Promise<void> {
  const target = join(root, 'pause');
  await runCommand('gcc', ['-static', '-Os', '-Wall', '-Wextra', '-Werror', '-s', '-o', target, source], { doing: `compiling ${source} (needs gcc and libc6-dev)` });
}
