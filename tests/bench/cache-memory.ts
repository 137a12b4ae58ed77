// Benchmark (not a test): what 60,000 IPClaims cost the processes that cache them.
//   npm run bench:memory            (BENCH_CLAIMS=60000 by default)
//
// On the real local control plane, a webhook replica and a leading reconciler are
// started from dist/ (as the image runs them: with the manifests' node flags, and
// with node's defaults) in the same run: on an empty cluster (the baseline) and with
// BENCH_CLAIMS claims in one pool. For each it prints
// the time from process start to ready (/readyz 200: caches listed, controllers
// running), the resident set when settled and its peak, and MiB per 10,000 claims
// above the baseline. Claims are created the way the webhook creates them
// (APIClaimStore.reserve); their pods never exist, so the reconciler runs with a long
// orphan TTL and keeps them.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { isAlive, startProcess, stopProcess, type ManagedProcess } from '../../hack/processes.js';
import { entryPoint } from '../../hack/repo-paths.js';
import { applyCRDs, CONTROLLER_NODE_FLAGS } from '../../hack/dev/underpin-install.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { customObjectSource, listWatch } from '../../kube/list-watch.js';
import { customObject, IP_CLAIM, SPIDER_IPPOOL } from '../../kube/resources.js';
import { fillClaims, ipv4After } from './claim-fill.js';
import { processMemory } from './process-memory.js';

const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 60_000);
const POOL = 'bench-memory';
const SETTLE_MS = 15_000;
const TARGET_MIB = 250;
const TARGET_READY_S = 5;
/** Each process as the manifests run it, and with node's defaults, in the same run. */
const NODE_FLAG_VARIANTS: Record<string, string[]> = { 'node-defaults': [], manifests: CONTROLLER_NODE_FLAGS };

interface Figures {
  readySeconds: number;
  settledMiB: number;
  peakMiB: number;
  /** Why the process stopped before it settled (it exited), if it did. */
  failed?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'underpin-bench-memory-'));
const plane = await LocalControlPlane.start({ dir, controllers: false });
try {
  await applyCRDs(plane);
  const kubeConfig = loadKubeConfig(plane.kubeconfig);
  await kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
    ...customObject(SPIDER_IPPOOL),
    body: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: POOL }, spec: { subnet: '10.200.0.0/16', ips: ['10.200.0.1-10.200.255.254'] } },
  });

  // The first webhook start creates the serving certificates (slow key generation): not measured.
  await measure('webhook', 'warm-up', 0);
  const empty = await measureBoth('empty');
  const created = await fillClaims(kubeConfig, { pool: POOL, count: CLAIMS, address: (i) => ipv4After('10.200.0.0', i + 1), progress: (n) => console.log(`${n} IPClaims`) });
  console.log(`created ${created} IPClaims`);
  const listSeconds = await timePagedList(kubeConfig);
  const streamedSeconds = await timeStreamingList(kubeConfig);
  console.log(`listing them alone: in pages of 500 ${listSeconds.toFixed(1)} s; as one streaming list (what the caches do on Kubernetes 1.34) ${streamedSeconds.toFixed(1)} s`);
  const full = await measureBoth('full');

  console.log(`\n${'process'.padEnd(12)}${'node flags'.padEnd(22)}${'claims'.padStart(8)}${'ready s'.padStart(10)}${'RSS MiB'.padStart(10)}${'peak MiB'.padStart(10)}${'MiB/10k'.padStart(10)}${'x empty'.padStart(9)}`);
  for (const [variant, flags] of Object.entries(NODE_FLAG_VARIANTS)) {
    for (const name of ['webhook', 'reconciler'] as const) {
      const [base, loaded] = [empty[variant]![name], full[variant]![name]];
      const perTenThousand = ((loaded.settledMiB - base.settledMiB) / created) * 10_000;
      const row = (claims: number, f: Figures, extra: string) =>
        `${name.padEnd(12)}${(flags.join(' ') || '(none)').padEnd(22)}${String(claims).padStart(8)}${f.readySeconds.toFixed(1).padStart(10)}${f.settledMiB.toFixed(0).padStart(10)}${f.peakMiB.toFixed(0).padStart(10)}${extra}${f.failed ? `  FAILED: ${f.failed}` : ''}`;
      console.log(row(0, base, ''));
      console.log(row(created, loaded, `${perTenThousand.toFixed(1).padStart(10)}${(loaded.settledMiB / base.settledMiB).toFixed(2).padStart(9)}`));
    }
  }
  console.log(`\ntargets with 60,000 claims: RSS <= ${TARGET_MIB} MiB, new replica ready <= ${TARGET_READY_S} s`);
  for (const variant of Object.keys(NODE_FLAG_VARIANTS)) {
    const { webhook, reconciler } = full[variant]!;
    console.log(`${variant}: webhook ${webhook.settledMiB.toFixed(0)} MiB ready ${webhook.readySeconds.toFixed(1)} s; reconciler ${reconciler.settledMiB.toFixed(0)} MiB ready ${reconciler.readySeconds.toFixed(1)} s`);
  }
} finally {
  await plane.stop();
}

async function measureBoth(phase: string): Promise<Record<string, { webhook: Figures; reconciler: Figures }>> {
  const out: Record<string, { webhook: Figures; reconciler: Figures }> = {};
  for (const [variant, flags] of Object.entries(NODE_FLAG_VARIANTS)) {
    out[variant] = { webhook: await measure('webhook', `${phase}-${variant}`, SETTLE_MS, flags), reconciler: await measure('reconciler', `${phase}-${variant}`, SETTLE_MS, flags) };
  }
  return out;
}

/** The caches' own list-watch, with nobody listening: how long its first sync takes. */
async function timeStreamingList(kubeConfig: ReturnType<typeof loadKubeConfig>): Promise<number> {
  const watch = listWatch(kubeConfig, customObjectSource(kubeConfig, IP_CLAIM), { warn: (_, message) => console.log(`list-watch: ${message}`) });
  const started = Date.now();
  await watch.start();
  const seconds = (Date.now() - started) / 1000;
  await watch.stop();
  return seconds;
}

async function timePagedList(kubeConfig: ReturnType<typeof loadKubeConfig>): Promise<number> {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const started = Date.now();
  let next: string | undefined;
  do {
    const page = (await api.listClusterCustomObject({ ...customObject(IP_CLAIM), limit: 500, _continue: next })) as { metadata?: { continue?: string } };
    next = page.metadata?.continue || undefined;
  } while (next);
  return (Date.now() - started) / 1000;
}

async function measure(name: 'webhook' | 'reconciler', phase: string, settleMs = SETTLE_MS, nodeFlags: string[] = []): Promise<Figures> {
  const logDir = join(dir, phase);
  mkdirSync(logDir, { recursive: true });
  const [port] = await freeLoopbackPorts(1);
  const args =
    name === 'webhook'
      ? [...entryPoint('webhook', 'main'), '--bind-address=127.0.0.1', `--port=${port}`, `--cert-dir=${join(dir, 'certs')}`, '--ip-addresses=127.0.0.1', '--no-inject-ca-bundle', `--kubeconfig=${plane.kubeconfig}`]
      : [...entryPoint('reconciler', 'main'), `--kubeconfig=${plane.kubeconfig}`, `--identity=bench-${phase}`, `--metrics-bind-address=127.0.0.1:${port}`, '--orphan-claim-ttl-seconds=86400'];
  const started = Date.now();
  const child = startProcess({ name: `${name}-${phase}`, command: process.execPath, args: [...nodeFlags, ...args], logFile: join(logDir, `${name}.log`) });
  let last = { rssMiB: NaN, peakMiB: NaN };
  let readySeconds = NaN;
  try {
    const url = name === 'webhook' ? `https://127.0.0.1:${port}/readyz` : `http://127.0.0.1:${port}/readyz`;
    // A reconciler is ready as a standby too: wait for it to lead with its controllers running.
    const leading = () => name === 'webhook' || get(`http://127.0.0.1:${port}/metrics`).then((body) => /^underpin_reconciler_leader 1$/m.test(body ?? ''));
    // Leading first: /readyz is 200 for a standby too, until the moment it leads.
    while (!((await leading()) && (await ready(url)))) {
      last = processMemory(child.pid) ?? last;
      if (!isAlive(child.pid)) return { readySeconds, settledMiB: last.rssMiB, peakMiB: last.peakMiB, failed: `exited before it was ready: ${lastFatal(child)}` };
      await sleep(50);
    }
    readySeconds = (Date.now() - started) / 1000;
    // Settled: after the first pass over every object (the reconciler checks each claim once).
    for (let waited = 0; waited < settleMs; waited += 500) {
      await sleep(500);
      const now = processMemory(child.pid);
      if (!now) return { readySeconds, settledMiB: last.rssMiB, peakMiB: last.peakMiB, failed: `exited after it was ready: ${lastFatal(child)}` };
      last = now;
    }
    return { readySeconds, settledMiB: last.rssMiB, peakMiB: last.peakMiB };
  } finally {
    // SIGTERM: a reconciler releases its Lease, so the next one leads at once.
    await stopProcess(child.pid);
  }
}

/** The last error or fatal line the process logged, for the table. */
function lastFatal(child: ManagedProcess): string {
  const lines = readFileSync(child.logFile, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; reason?: string };
      if ((entry.level ?? 0) >= 50) return `${entry.msg}${entry.reason ? ` (${entry.reason})` : ''}; see ${child.logFile}`;
    } catch {
      return `${line.slice(0, 200)}; see ${child.logFile}`;
    }
  }
  return `see ${child.logFile}`;
}

async function ready(url: string): Promise<boolean> {
  return (await get(url)) !== undefined;
}

/** The body of a 200 answer; undefined for any other answer or none. */
function get(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { timeout: 1000, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
