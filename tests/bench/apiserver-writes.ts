// The API server's own count of the requests it served (apiserver_request_total), read
// before and after a run: what was written, by resource and verb, whoever wrote it.
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'node:https';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);
const SAMPLE = /^apiserver_request_total\{([^}]*)\}\s+([0-9.e+]+)$/;

/** `resource[/subresource] VERB` → requests served so far (every response code). */
export type WriteCounts = Map<string, number>;

function labels(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

export function parseWriteCounts(metrics: string): WriteCounts {
  const counts: WriteCounts = new Map();
  for (const line of metrics.split('\n')) {
    const sample = SAMPLE.exec(line);
    if (!sample) continue;
    const l = labels(sample[1]!);
    if (!WRITE_VERBS.has(l.verb ?? '')) continue;
    const key = `${l.resource}${l.subresource ? `/${l.subresource}` : ''} ${l.verb}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(sample[2]));
  }
  return counts;
}

/** GET /metrics with the kubeconfig's credentials (the local admin may read it). */
export async function readWriteCounts(kubeConfig: KubeConfig): Promise<WriteCounts> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const options: { headers: Record<string, string>; ca?: string; cert?: string; key?: string } = { headers: {} };
  await kubeConfig.applyToHTTPSOptions(options);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(`${cluster.server}/metrics`, { ...options, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: HTTP ${res.statusCode}: ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
  return parseWriteCounts(body);
}

export function difference(after: WriteCounts, before: WriteCounts): WriteCounts {
  const out: WriteCounts = new Map();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta > 0) out.set(key, delta);
  }
  return out;
}

export function total(counts: WriteCounts): number {
  let sum = 0;
  for (const value of counts.values()) sum += value;
  return sum;
}
