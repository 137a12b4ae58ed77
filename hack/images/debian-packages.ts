// Debian packages as image content: the version apt would install now (from the
// local package lists, no network), fetched once with `apt-get download` into the
// cache, unpacked with `dpkg-deb -x`. Nothing is installed on the host.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './run-command.js';

export interface DebianPackage {
  name: string;
  version: string;
  /** The downloaded .deb. */
  file: string;
}

const candidates = new Map<string, Promise<string>>();

/**
 * `apt-cache policy`'s candidates: what `apt-get download NAME` would fetch. One
 * call for all names, remembered for the process: each call reads every package
 * list, about two seconds here.
 */
export async function candidateVersions(names: string[]): Promise<Record<string, string>> {
  const missing = names.filter((n) => !candidates.has(n));
  if (missing.length > 0) {
    const policy = runCommand('apt-cache', ['policy', ...missing], { doing: `looking up the Debian packages ${missing.join(', ')}` }).then(({ stdout }) => stdout);
    for (const name of missing) {
      const version = policy.then((text) => {
        // Each package's section starts with "NAME:" at the start of a line.
        const section = text.split(/^(?=\S+:$)/m).find((s) => s.startsWith(`${name}:`)) ?? '';
        const candidate = /Candidate:\s*(\S+)/.exec(section)?.[1];
        if (!candidate || candidate === '(none)') {
          throw new Error(`the Debian package ${name} has no installable version in apt's lists; run apt-get update and try again`);
        }
        return candidate;
      });
      version.catch(() => undefined); // a name nobody awaits yet must not be an unhandled rejection
      candidates.set(name, version);
    }
  }
  const versions: Record<string, string> = {};
  for (const name of names) versions[name] = await candidates.get(name)!;
  return versions;
}

/** The version installed on this host (for tools that run here, such as gcc). */
export async function installedVersion(name: string): Promise<string> {
  const { stdout } = await runCommand('dpkg-query', ['-W', '-f', '${Version}', name], { doing: `looking up the installed Debian package ${name} (apt-get install -y ${name})` });
  return stdout.trim();
}

/** The .deb of `name` at `version` (the candidate when not given), downloaded on first use. */
export async function debianPackage(name: string, debsDir: string, version?: string): Promise<DebianPackage> {
  version ??= (await candidateVersions([name]))[name]!;
  // A folder per name and version: a version apt moves on to is a new folder, and a
  // half-finished download (renamed into place only when complete) is never reused.
  const dir = join(debsDir, `${name}_${version.replace(/:/g, '%3a')}`);
  const found = () => (existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.deb')) : undefined);
  if (!found()) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    await runCommand('apt-get', ['download', `${name}=${version}`], { cwd: partial, doing: `downloading the Debian package ${name}=${version} (apt-get update may help)` });
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  }
  return { name, version, file: join(dir, found()!) };
}

/** Unpacks the package's files (not its maintainer scripts) into `root`. */
export async function unpackDebianPackage(pkg: DebianPackage, root: string): Promise<void> {
  await runCommand('dpkg-deb', ['-x', pkg.file, root], { doing: `unpacking ${pkg.name} ${pkg.version}` });
}
