// Paths inside the checkout, the same whether running from TypeScript source
// (tests) or from dist/ (npm scripts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Underpin checkout (no package.json above hack/)');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot();
export const repoPath = (...parts: string[]) => join(REPO_ROOT, ...parts);

/** Node arguments to run one of our entry points: from source under tsx in tests, from dist/ otherwise. */
export function entryPoint(...path: string[]): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource ? ['--import', 'tsx', `${repoPath(...path)}.ts`] : [`${repoPath('dist', ...path)}.js`];
}
