// npm run dev:up / dev:down, as a developer runs them: a usable cluster in the
// background with two simulated nodes that run pods' CNI chains, then nothing left
// behind (no process, port, network namespace or link).
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { leftovers } from '../../hack/node-simulator/host.js';
import { SimulatorNames } from '../../hack/node-simulator/names.js';
import { isAlive } from '../../hack/processes.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { repoPath } from '../../hack/repo-paths.js';
import { allProcesses, portAnswers } from '../../hack/dev/cluster.js';

const run = promisify(execFile);
const dev = (command: string) => run(process.execPath, [repoPath('dist', 'hack', 'dev', 'main.js'), command], { cwd: repoPath() });

t.test('dev:up gives a cluster with Underpin installed; dev:down leaves no process or port', async (t) => {
  t.teardown(() => dev('down').catch(() => {}));
  const up = await dev('up');
  t.match(up.stdout, /ready in [\d.]+ s/);
  t.match(up.stdout, /export KUBECONFIG=.*\.underpin\/kubeconfig/);
  const state = JSON.parse(readFileSync(repoPath('.underpin', 'state.json'), 'utf8'));

  const get = await runKubectl(state.kubectl, repoPath('.underpin', 'kubeconfig'), ['get', 'spiderippools']);
  t.equal(get.code, 0, get.stderr);
  t.match(get.stderr + get.stdout, /No resources found/);

  if (state.nodeSimulator) {
    const nodes = await runKubectl(state.kubectl, repoPath('.underpin', 'kubeconfig'), ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}']);
    t.equal(nodes.stdout.trim(), 'sim-node-1=True sim-node-2=True', 'two simulated nodes, Ready');
    t.ok(isAlive(state.nodeSimulator.process.pid), 'the node simulator keeps running after dev:up returned');
    // The seed's pods get namespaces (and the nodes uplinks), which dev:down must remove.
    const kubeconfig = repoPath('.underpin', 'kubeconfig');
    await runKubectl(state.kubectl, kubeconfig, ['wait', '--for=jsonpath={.metadata.name}=default', 'serviceaccount/default', '--timeout=120s']);
    const applied = await runKubectl(state.kubectl, kubeconfig, ['apply', '-f', repoPath('hack', 'dev', 'demo', 'seed.yaml')]);
    t.equal(applied.code, 0, applied.stderr);
    const ready = await runKubectl(state.kubectl, kubeconfig, ['wait', '--for=jsonpath={.status.readyReplicas}=2', 'deployment/test-app', '--timeout=120s']);
    t.equal(ready.code, 0, `the seed Deployment's pods Running on the simulated nodes ${ready.stderr}`);
    const made = await leftovers(new SimulatorNames(state.nodeSimulator.prefix));
    t.equal(made.netns.length, 3, `two pod namespaces and the fabric: ${made.netns.join(', ')}`);
  } else {
    t.comment('no node simulator on this host (needs root and network namespaces)');
  }

  const again = await dev('up');
  t.match(again.stdout, /already up/, 'a second dev:up reuses the running cluster');

  const down = await dev('down');
  t.match(down.stdout, /no process, listening port or pod network namespace left/);
  for (const p of allProcesses(state)) t.notOk(isAlive(p.pid), `${p.name} is gone`);
  if (state.nodeSimulator) t.same(await leftovers(new SimulatorNames(state.nodeSimulator.prefix)), { netns: [], links: [] }, 'no namespace or link of the simulator left');
  for (const port of state.ports) t.notOk(await portAnswers(port), `port ${port} closed`);
  t.notOk(existsSync(repoPath('.underpin', 'kubeconfig')));
});

// The README's first command, after dev:down (it uses the same .underpin directory).
t.test('npm run demo walks the seed scenario and cleans up', async (t) => {
  const demo = await run(process.execPath, [repoPath('dist', 'hack', 'dev', 'demo.js')], { cwd: repoPath(), maxBuffer: 16 * 1024 * 1024 });
  for (const step of [
    /auto4-test-app-eth0-\w+\s+10\.6\.0\.0\/16\s+\[10\.6\.0\.10-10\.6\.0\.12\]\s+test-app/,
    /kubectl scale deployment test-app --replicas 3/,
    /auto4-test-app-eth0-\w+\s+\[10\.6\.0\.10-10\.6\.0\.13\]/,
    /denied the request: SpiderIPPool rogue is invalid/,
    /==> Demo complete/,
    /no process, listening port or pod network namespace left/,
  ]) t.match(demo.stdout, step);
  if (demo.stdout.includes('runs as pods on real-node-1')) {
    t.match(demo.stdout, /underpin-controller-\S+\s+2\/2\s+Running\s+\d+\s+\S+\s+10\.254\.0\.2\s+real-node-1/, "Underpin's controller runs on the real node, from its image");
    t.match(demo.stdout, /real-app-\S+\s+1\/1\s+Running\s+\d+\s+\S+\s+10\.6\.0\.\d+\s+real-node-1/, 'the application runs as real containers on the real node');
    t.match(demo.stdout, /is bound to (10\.6\.0\.\d+\/16); inside its container:[\s\S]*inet \1 /, 'the container carries its bound address');
  }
  if (demo.stdout.includes('network namespace (made by the node simulator')) {
    t.match(demo.stdout, /from 10\.7\.0\.\d+ lookup 100/, "the pod's rule for net1 is shown");
    t.match(demo.stdout, /1 packets transmitted, 1 received/, 'the pod reaches its net1 gateway');
  }
  t.notOk(existsSync(repoPath('.underpin', 'kubeconfig')), 'nothing left up');
});
