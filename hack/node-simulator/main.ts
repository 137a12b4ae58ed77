// The node simulator as a long-running process (started by dev:up):
//   node dist/hack/node-simulator/main.js --kubeconfig=F --nodes=a,b --cni-bin=D --dir=D [--prefix=P]
//     [--sandboxes=network|ipam-only] [--concurrency=N] [--quiet]   (benchmarks: see NodeSimulatorOptions)
// Writes <dir>/ready once the nodes are Ready and pods are being watched. SIGTERM or
// SIGINT: removes every namespace and link it made, then exits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { NodeSimulator } from './node-simulator.js';
import { READY_FILE } from './process.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    nodes: { type: 'string' },
    'cni-bin': { type: 'string' },
    dir: { type: 'string' },
    prefix: { type: 'string' },
    'cluster-network': { type: 'string' },
    sandboxes: { type: 'string' },
    concurrency: { type: 'string' },
    quiet: { type: 'boolean' },
  },
});

function required(name: 'kubeconfig' | 'nodes' | 'cni-bin' | 'dir'): string {
  const value = values[name];
  if (!value) {
    console.error(`node-simulator: --${name} is required\nusage: node-simulator/main --kubeconfig=FILE --nodes=a,b --cni-bin=DIR --dir=DIR [--prefix=P] [--cluster-network=ns/name]`);
    process.exit(2);
  }
  return value;
}

const sandboxes = values.sandboxes ?? 'network';
if (sandboxes !== 'network' && sandboxes !== 'ipam-only') {
  console.error(`node-simulator: --sandboxes=${sandboxes}: must be "network" (namespaces and the whole chain) or "ipam-only" (each network's IPAM plugin alone)`);
  process.exit(2);
}
const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
  console.error(`node-simulator: --concurrency=${values.concurrency}: must be a whole number above 0`);
  process.exit(2);
}
// --quiet: a line per pod is too much for a thousand; failures and start and stop still show.
const log = (line: string) => {
  if (!values.quiet || !/^pod .*(: netns |: sandbox removed$)/.test(line)) console.log(`${new Date().toISOString()} ${line}`);
};
const dir = required('dir');
const [networkNamespace, networkName] = values['cluster-network']?.split('/') ?? [];
const simulator = new NodeSimulator({
  kubeConfig: loadKubeConfig(required('kubeconfig')),
  nodes: required('nodes').split(',').filter(Boolean),
  cniBinDir: required('cni-bin'),
  workDir: dir,
  sandboxes,
  ...(concurrency ? { concurrency } : {}),
  ...(values.prefix ? { prefix: values.prefix } : {}),
  ...(networkNamespace && networkName ? { clusterNetwork: { namespace: networkNamespace, name: networkName } } : {}),
  log,
});

let stopping: Promise<void> | undefined;
const stop = (signal: string) => {
  stopping ??= (async () => {
    log(`${signal}: removing every namespace and link of prefix ${simulator.prefix}`);
    await simulator.stop().catch((error: Error) => log(`stopping: ${error.message}`));
    process.exit(0);
  })();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  await simulator.start();
  writeFileSync(join(dir, READY_FILE), `${simulator.prefix}\n`);
} catch (error) {
  log(`cannot start: ${(error as Error).message}`);
  await simulator.stop().catch(() => {});
  process.exit(1);
}
