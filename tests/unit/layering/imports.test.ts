// The project's layers, as DESIGN.md draws them: ipam/ is pure and imports nothing
// outside itself; kube/ is the shared Kubernetes layer under webhook/ and
// reconciler/, which are peers (neither imports the other); certs/ sits on kube/.
// Read from the sources, so a new import across a boundary fails here.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoPath } from '../../../hack/repo-paths.js';

function sources(dir: string): string[] {
  return readdirSync(repoPath(dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(repoPath(), join(entry.parentPath, entry.name)));
}

/** The repository files a source imports (relative specifiers only; packages are not files of ours). */
function importsOf(file: string): string[] {
  const text = readFileSync(repoPath(file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((spec) => relative(repoPath(), resolve(dirname(repoPath(file)), spec)).replace(/\.js$/, '.ts'));
}

function crossings(from: string, allowed: (target: string) => boolean): string[] {
  return sources(from).flatMap((file) => importsOf(file).filter((target) => !allowed(target)).map((target) => `${file} imports ${target}`));
}

const inside = (...dirs: string[]) => (target: string) => dirs.some((dir) => target.startsWith(`${dir}/`));

t.test('ipam/ is pure: it imports nothing outside itself', async (t) => {
  t.same(crossings('ipam', inside('ipam')), []);
});

t.test('kube/ is shared: it imports the domain and itself, never webhook/ or reconciler/', async (t) => {
  t.same(crossings('kube', inside('kube', 'ipam')), []);
});

t.test('certs/ sits on kube/', async (t) => {
  t.same(crossings('certs', inside('certs', 'kube', 'ipam')), []);
});

t.test('webhook/ and reconciler/ are peers', async (t) => {
  t.same(crossings('webhook', (target) => !target.startsWith('reconciler/')), [], 'webhook/ imports nothing from reconciler/');
  t.same(crossings('reconciler', (target) => !target.startsWith('webhook/')), [], 'reconciler/ imports nothing from webhook/');
});

t.test('no import cycle among the product sources', async (t) => {
  const files = ['ipam', 'kube', 'certs', 'webhook', 'reconciler', 'cni'].flatMap(sources);
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => target !== file)]));
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  t.same(cycles, []);
});
