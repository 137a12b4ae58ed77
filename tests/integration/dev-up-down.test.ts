// npm run dev:up / dev:down, as a developer runs them: a usable cluster in the
// background, then nothing left behind.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { isAlive } from '../../hack/processes.js';
import { runKubectl } from '../../hack/kubectl.js';
import { repoPath } from '../../hack/repo-paths.js';

const run = promisify(execFile);
const dev = (command: string) => run(process.execPath, [repoPath('dist', 'hack', 'dev.js'), command], { cwd: repoPath() });

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

t.test('dev:up gives a cluster with Underpin installed; dev:down leaves no process or port', async (t) => {
  t.teardown(() => dev('down').catch(() => {}));
  const up = await dev('up');
  t.match(up.stdout, /ready in [\d.]+ s/);
  t.match(up.stdout, /export KUBECONFIG=.*\.underpin\/kubeconfig/);
  const state = JSON.parse(readFileSync(repoPath('.underpin', 'state.json'), 'utf8'));

  const get = await runKubectl(state.kubectl, repoPath('.underpin', 'kubeconfig'), ['get', 'spiderippools']);
  t.equal(get.code, 0, get.stderr);
  t.match(get.stderr + get.stdout, /No resources found/);

  const again = await dev('up');
  t.match(again.stdout, /already up/, 'a second dev:up reuses the running cluster');

  const down = await dev('down');
  t.match(down.stdout, /no process and no listening port left/);
  for (const p of [...state.controlPlane, ...state.underpin]) t.notOk(isAlive(p.pid), `${p.name} is gone`);
  for (const port of state.ports) t.notOk(await portAnswers(port), `port ${port} closed`);
  t.notOk(existsSync(repoPath('.underpin', 'kubeconfig')));
});
