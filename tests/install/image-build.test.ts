// Builds the images as `npm run images` does (buildah, from the Dockerfile, on the
// local Node 24 bases) and looks into them as a node would: the run config, the
// webhook and the CNI executable starting inside the image, the Node in it, the
// archive's name for `ctr images import`, pause and busybox. The first build on a
// machine takes some minutes (npm ci inside the build stage); later ones reuse the
// layers. Needs root and buildah; skipped without them.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { BUSYBOX_IMAGE, NODE_BUILD_IMAGE, NODE_RUNTIME_IMAGE, PAUSE_IMAGE } from '../../hack/images/base-images.js';
import { buildImages, type ImageArchives } from '../../hack/images/build-images.js';
import { imageFacts, runInImage } from '../../hack/images/image-inspection.js';
import { UNDERPIN_IMAGE } from '../../hack/images/underpin-image.js';

function unusable(): string | undefined {
  if (process.getuid?.() !== 0) return 'building images needs root (buildah mounts layers)';
  if (spawnSync('buildah', ['--version']).status !== 0) return 'buildah is not installed (apt-get install -y buildah)';
  if (spawnSync('gcc', ['--version']).status !== 0) return 'gcc is not installed (it compiles the pause image)';
  return undefined;
}

const reason = unusable();
if (reason) t.plan(0, `skipped: ${reason}`);
else await suite();

/** The names `ctr images import` gives the images of a docker-archive: its manifest.json's RepoTags. */
function repoTags(archive: string): string[] {
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags?: string[] }[];
  return manifest.flatMap((m) => m.RepoTags ?? []);
}

async function suite(): Promise<void> {
  // A cold build (no layers yet) runs npm ci and tsc inside the build stage.
  t.setTimeout(30 * 60_000);
  const lines: string[] = [];
  let archives: ImageArchives;
  try {
    archives = await buildImages({ log: (line) => lines.push(line) });
  } catch (error) {
    t.fail(`building the images failed: ${(error as Error).message}\n${lines.join('\n')}`);
    return;
  }
  t.comment(lines.join('\n') || 'every image was up to date');

  t.test('each image is exported under its own name, as ctr images import will list it', async (t) => {
    const expected = { underpin: UNDERPIN_IMAGE, pause: PAUSE_IMAGE, busybox: BUSYBOX_IMAGE, nodeRuntime: NODE_RUNTIME_IMAGE, nodeBuild: NODE_BUILD_IMAGE };
    for (const [key, ref] of Object.entries(expected)) {
      const archive = archives[key as keyof ImageArchives];
      t.equal(archive.ref, ref);
      t.same(repoTags(archive.archive), [ref], `${archive.archive} is tagged ${ref}`);
      t.match(archive.imageId, /^[0-9a-f]{64}$/);
    }
  });

  t.test('a second build with nothing changed rebuilds nothing', async (t) => {
    const started = Date.now();
    const again = await buildImages();
    for (const key of Object.keys(archives) as (keyof ImageArchives)[]) t.equal(again[key].imageId, archives[key].imageId, `${key} is the same image`);
    t.comment(`up-to-date check took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  t.test("Underpin's image runs node from /nodejs/bin/node as 65532 in /app, as the Dockerfile says", async (t) => {
    const { config, architecture } = await imageFacts(UNDERPIN_IMAGE);
    t.same(config.Entrypoint, ['/nodejs/bin/node']);
    t.equal(config.User, '65532:65532');
    t.equal(config.WorkingDir, '/app');
    t.equal(architecture, 'amd64');
  });

  t.test('inside it: Node 24, the image user, no shell', async (t) => {
    const probe = 'console.log(JSON.stringify({ version: process.version, uid: process.getuid(), cwd: process.cwd(), shell: require("fs").existsSync("/bin/sh") }))';
    const { stdout } = await runInImage(UNDERPIN_IMAGE, ['/nodejs/bin/node', '-e', probe]);
    const seen = JSON.parse(stdout) as { version: string; uid: number; cwd: string; shell: boolean };
    t.match(seen.version, /^v24\./);
    t.equal(seen.uid, 65532);
    t.equal(seen.cwd, '/app');
    t.equal(seen.shell, false, 'distroless-like: no /bin/sh');
  });

  t.test('the webhook starts inside it (dist/webhook/main.js --help)', async (t) => {
    const { stdout } = await runInImage(UNDERPIN_IMAGE, ['/nodejs/bin/node', 'dist/webhook/main.js', '--help']);
    t.match(stdout, /^usage: underpin-webhook/);
    t.match(stdout, /--cert-secret/);
  });

  t.test('the CNI executable in it answers VERSION', async (t) => {
    const call = 'const r = require("child_process").spawnSync("dist/cni/bin/underpin", { input: JSON.stringify({ cniVersion: "1.0.0" }), env: { CNI_COMMAND: "VERSION" } }); process.stdout.write(r.stdout); process.exitCode = r.status';
    const { stdout } = await runInImage(UNDERPIN_IMAGE, ['/nodejs/bin/node', '-e', call]);
    t.match(JSON.parse(stdout), { cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0'] });
  });

  t.test('the build base has a shell, node 24 and npm on PATH', async (t) => {
    const { stdout } = await runInImage(NODE_BUILD_IMAGE, ['sh', '-c', 'node --version && npm --version && ls /bin/busybox']);
    t.match(stdout, /^v24\.\d+\.\d+\n\d+\.\d+\.\d+\n\/bin\/busybox\n$/);
  });

  t.test('pause runs /pause as 65535, and busybox has sh', async (t) => {
    const pause = await imageFacts(PAUSE_IMAGE);
    t.same(pause.config.Entrypoint, ['/pause']);
    t.equal(pause.config.User, '65535:65535');
    t.match((await runInImage(PAUSE_IMAGE, ['/pause', '-v'])).stdout, /^pause\.c /);
    t.same((await imageFacts(BUSYBOX_IMAGE)).config.Cmd, ['sh']);
    t.equal((await runInImage(BUSYBOX_IMAGE, ['sh', '-c', 'echo $((6 * 7))'])).stdout, '42\n');
  });
}
