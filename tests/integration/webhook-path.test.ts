// The whole admission path on a real control plane: the apiserver calls the
// webhook over TLS with the caBundle the webhook registered itself.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startLocalCluster } from './local-cluster.js';

const cluster = await startLocalCluster(t, { controllers: false });

function pool(name: string, subnet: string) {
  return stringify({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name },
    spec: { subnet, ips: [] },
  });
}

t.test('the apiserver reports the version it was built as', async (t) => {
  const result = await cluster.kubectl(['version', '-o', 'json']);
  t.equal(result.code, 0, result.stderr);
  const version = JSON.parse(result.stdout);
  t.equal(version.serverVersion.gitVersion, 'v1.34.4');
  t.equal(version.clientVersion.gitVersion, 'v1.34.4');
});

t.test('a SpiderIPPool whose subnet is not a CIDR is denied with the webhook message', async (t) => {
  const result = await cluster.kubectl(['apply', '-f', '-'], pool('bad-pool', '10.6.0.0/33'));
  t.not(result.code, 0);
  t.match(result.stderr, 'admission webhook "spider-resources.validate.underpin.dev" denied the request');
  t.match(result.stderr, 'SpiderIPPool bad-pool is invalid');
  t.match(result.stderr, /spec\.subnet: "10\.6\.0\.0\/33" is not a valid CIDR/);
  const get = await cluster.kubectl(['get', 'spiderippool', 'bad-pool']);
  t.not(get.code, 0, 'nothing was stored');
});

t.test('a SpiderIPPool with a valid subnet is admitted and listed with its columns', async (t) => {
  const result = await cluster.kubectl(['apply', '-f', '-'], pool('good-pool', '10.6.0.0/16'));
  t.equal(result.code, 0, result.stderr);
  const get = await cluster.kubectl(['get', 'sp', 'good-pool']);
  t.equal(get.code, 0, get.stderr);
  t.match(get.stdout, /NAME\s+VERSION\s+SUBNET\s+ALLOCATED-IP-COUNT\s+TOTAL-IP-COUNT\s+DEFAULT/);
  t.match(get.stdout, /good-pool\s+.*10\.6\.0\.0\/16/);
});

t.test('the webhook registered its own CA as the caBundle of both configurations', async (t) => {
  const ca = readFileSync(join(cluster.plane.state.dir, 'underpin', 'webhook-certs', 'ca.crt'), 'utf8');
  for (const kind of ['mutatingwebhookconfiguration/underpin-mutating', 'validatingwebhookconfiguration/underpin-validating']) {
    const result = await cluster.kubectl(['get', kind, '-o', 'jsonpath={.webhooks[*].clientConfig.caBundle}']);
    t.equal(result.code, 0, result.stderr);
    t.equal(Buffer.from(result.stdout, 'base64').toString(), ca, `${kind} trusts the webhook's CA`);
  }
});

t.test('kubectl explain documents the CRD fields', async (t) => {
  const result = await cluster.kubectl(['explain', 'spiderippool.spec']);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /subnet\s+<string> -required-/);
  t.match(result.stdout, /ips\s+<\[\]string>/);
});

t.test('the webhook counts its decisions at /metrics', async (t) => {
  const { httpsRequest } = await import('../webhook/https-client.js');
  const reply = await httpsRequest(`${cluster.underpin.webhookUrl}/metrics`, { ca: cluster.underpin.webhookCaPem });
  t.equal(reply.status, 200);
  // Requests are spread over two replicas, so this one may not have decided any yet.
  t.match(reply.body, /# HELP underpin_admission_decisions_total /);
  t.match(reply.body, /# HELP underpin_admission_duration_seconds /);
});
