// The webhook server over real TLS on loopback: malformed AdmissionReviews get a
// 4xx with a reason, and the server keeps serving.
import t from 'tap';
import { createCertificateAuthority, issueCertificate } from '../../certs/pki.js';
import { buildWebhookServer, DEFAULT_MAX_REQUEST_BYTES } from '../../webhook/server.js';
import { SPIDER_VALIDATE_PATH } from '../../webhook/spider-resources.js';
import { httpsRequest } from './https-client.js';
import { InMemoryUnderlay } from './in-memory-underlay.js';

const ca = createCertificateAuthority('test-ca', 1);
const tls = issueCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'], usage: 'server', validityDays: 1 });
const app = buildWebhookServer({ tls, maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, underlay: new InMemoryUnderlay() });
await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());
const address = app.server.address();
const base = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const post = (body: string | Buffer, contentType?: string) => httpsRequest(base + SPIDER_VALIDATE_PATH, { ca: ca.certPem, body, contentType });

function review(request: Record<string, unknown>) {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

const validRequest = {
  uid: 'abc-123',
  kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' },
  resource: { group: 'spiderpool.spidernet.io', version: 'v2beta1', resource: 'spiderippools' },
  name: 'p1',
  operation: 'CREATE',
  userInfo: { username: 'admin' },
  object: { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'p1' }, spec: { subnet: 'nope' } },
};

const cases: { name: string; body: () => string | Buffer; contentType?: string; status: number; reason: RegExp }[] = [
  { name: 'wrong JSON', body: () => '{"apiVersion": ', status: 400, reason: /JSON/i },
  { name: 'not an AdmissionReview', body: () => '{"hello":"world"}', status: 400, reason: /apiVersion must be admission\.k8s\.io\/v1/ },
  { name: 'missing uid', body: () => review({ ...validRequest, uid: undefined }), status: 400, reason: /request\.uid/ },
  { name: 'empty uid', body: () => review({ ...validRequest, uid: '' }), status: 400, reason: /request\.uid is required/ },
  { name: 'unknown operation', body: () => review({ ...validRequest, operation: 'PATCH' }), status: 400, reason: /request\.operation/ },
  { name: 'a 2 MiB body', body: () => Buffer.alloc(2 * 1024 * 1024, 'a'), status: 413, reason: /larger than \d+ bytes/ },
  { name: 'a text body', body: () => 'hello', contentType: 'text/plain', status: 415, reason: /content.type/i },
];

for (const c of cases) {
  t.test(`${c.name} gets ${c.status} with a reason`, async (t) => {
    const reply = await post(c.body(), c.contentType);
    t.equal(reply.status, c.status, reply.body);
    t.match(reply.json().message, c.reason);
    const health = await httpsRequest(`${base}/healthz`, { ca: ca.certPem });
    t.equal(health.status, 200, 'still serving');
  });
}

t.test('a well-formed review gets an AdmissionReview response with its uid', async (t) => {
  const reply = await post(review(validRequest));
  t.equal(reply.status, 200);
  const body = reply.json();
  t.equal(body.apiVersion, 'admission.k8s.io/v1');
  t.equal(body.kind, 'AdmissionReview');
  t.equal(body.response.uid, 'abc-123');
  t.equal(body.response.allowed, false);
  t.match(body.response.status.message, /spec\.subnet: "nope"/);
});

t.test('an object that is not a SpiderIPPool at all is denied naming the fields', async (t) => {
  const reply = await post(review({ ...validRequest, object: { kind: 'SpiderIPPool', spec: { subnet: 42 } } }));
  t.equal(reply.status, 200);
  t.equal(reply.json().response.allowed, false);
  t.match(reply.json().response.status.message, /spec\.subnet/);
});
