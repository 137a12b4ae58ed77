// Puts Underpin's CNI executables where the dev cluster's simulated nodes run them,
// as the installer DaemonSet copies them into a node's /opt/cni/bin: a copy, so a
// rebuild of dist/cni/bin (npm test, npm run build) never changes them under a
// running cluster. Builds them first when dist/cni/bin is missing or older than
// the plugin's sources (dev:up and the demo only run tsc).
import { copyFileSync, chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PLUGIN_NAMES, buildExecutables } from '../../cni/build-executables.js';
import { repoPath } from '../repo-paths.js';

/** The plugins bundle cni/ and the parts of ipam/ they import. */
const PLUGIN_SOURCES = [repoPath('cni'), repoPath('ipam')];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Copies the executables into `target` (built first if needed); returns `target`, the CNI_PATH entry. */
export async function installCniExecutables(target: string, log: (line: string) => void = () => {}): Promise<string> {
  const built = repoPath('dist', 'cni', 'bin', 'underpin');
  const newest = Math.max(...PLUGIN_SOURCES.map(newestSource));
  if (!existsSync(built) || statSync(built).mtimeMs < newest) {
    log('building the CNI executables into dist/cni/bin (sources changed since the last build)');
    await buildExecutables();
  }
  mkdirSync(target, { recursive: true });
  const staged = join(target, '.underpin.new');
  copyFileSync(built, staged);
  chmodSync(staged, 0o755);
  renameSync(staged, join(target, 'underpin'));
  for (const name of PLUGIN_NAMES.slice(1)) {
    rmSync(join(target, name), { force: true });
    symlinkSync('underpin', join(target, name));
  }
  return target;
}
