// The shared certificates Secret with an in-memory API that honours the two rules
// the store relies on: create fails when the name exists, replace fails when the
// resourceVersion is stale. (The real API: tests/install/controller-on-cluster.test.ts.)
import t from 'tap';
import type { V1Secret } from '@kubernetes/client-node';
import { caBundleOf, PREVIOUS_CA_RETENTION_MS } from '../../../certs/certificate-plan.js';
import { ensureCertificateSecret, GENERATION_ANNOTATION, ROTATE_CA_ANNOTATION, type SecretClient } from '../../../certs/certificate-secret.js';
import { isIssuedBy, readCertificate } from '../../../certs/pki.js';

const DAY = 24 * 60 * 60 * 1000;
const target = { name: 'underpin-webhook-tls', namespace: 'underpin-system' };
const names = { dnsNames: ['underpin-webhook.underpin-system.svc'], ipAddresses: [] };

class InMemorySecret {
  secret: V1Secret | undefined;
  writes = 0;
  private version = 0;

  client(): SecretClient {
    const copy = () => (this.secret ? (JSON.parse(JSON.stringify(this.secret)) as V1Secret) : undefined);
    const later = () => new Promise((resolve) => setImmediate(resolve));
    return {
      description: `Secret ${target.namespace}/${target.name}`,
      read: async () => {
        await later();
        return copy();
      },
      create: async (body) => {
        await later();
        if (this.secret) return 'exists';
        return this.store(body);
      },
      replace: async (body) => {
        await later();
        if (body.metadata?.resourceVersion !== this.secret?.metadata?.resourceVersion) return 'conflict';
        return this.store(body);
      },
    };
  }

  private store(body: V1Secret): V1Secret {
    this.writes++;
    this.secret = { ...body, metadata: { ...body.metadata, uid: 'uid-1', resourceVersion: String(++this.version) } };
    return JSON.parse(JSON.stringify(this.secret)) as V1Secret;
  }

  pem(key: string): string | undefined {
    const data = this.secret?.data?.[key];
    return data ? Buffer.from(data, 'base64').toString() : undefined;
  }
}

t.test('replicas starting together: one creates the Secret, the others use it', async (t) => {
  const store = new InMemorySecret();
  const results = await Promise.all([1, 2, 3].map(() => ensureCertificateSecret(store.client(), target, names)));
  t.equal(store.writes, 1, 'created once');
  t.equal(new Set(results.map((r) => r.caCertPem)).size, 1, 'every replica has the same CA');
  t.equal(new Set(results.map((r) => r.certPem)).size, 1, 'and the same serving certificate');
  t.same(results.map((r) => r.generation), [1, 2, 3].map(() => ({ uid: 'uid-1', generation: 1 })));
  t.equal(store.secret?.type, 'kubernetes.io/tls');
  t.ok(isIssuedBy(store.pem('tls.crt')!, store.pem('ca.crt')!));
  t.same(readCertificate(store.pem('tls.crt')!).dnsNames, names.dnsNames);
});

t.test('renewal: of replicas renewing at once, one write wins and the others take it', async (t) => {
  const store = new InMemorySecret();
  const first = await ensureCertificateSecret(store.client(), target, { ...names, servingValidityDays: 40 });
  const now = new Date(Date.now() + 15 * DAY);
  const results = await Promise.all([1, 2].map(() => ensureCertificateSecret(store.client(), target, { ...names, now })));
  t.equal(store.writes, 2, 'one renewal written');
  t.equal(results[0]!.certPem, results[1]!.certPem, 'both serve the renewed certificate');
  t.not(results[0]!.certPem, first.certPem);
  t.equal(results[0]!.caCertPem, first.caCertPem, 'the CA is kept: the registered caBundle stays valid');
  t.equal(store.secret?.metadata?.annotations?.[GENERATION_ANNOTATION], '2');
  const unchanged = await ensureCertificateSecret(store.client(), target, { ...names, now });
  t.equal(store.writes, 2, 'nothing to do afterwards');
  t.equal(unchanged.renewed, 'none');
});

t.test('a requested CA rotation: new CA, previous kept in the bundle, request consumed', async (t) => {
  const store = new InMemorySecret();
  const first = await ensureCertificateSecret(store.client(), target, names);
  store.secret!.metadata!.annotations = { ...store.secret!.metadata!.annotations, [ROTATE_CA_ANNOTATION]: 'now' };
  const rotated = await ensureCertificateSecret(store.client(), target, names);
  t.equal(rotated.renewed, 'ca');
  t.not(rotated.caCertPem, first.caCertPem);
  t.ok(isIssuedBy(rotated.certPem, rotated.caCertPem));
  t.equal(rotated.caBundlePem, rotated.caCertPem + first.caCertPem, 'the bundle trusts the new CA and the previous one');
  t.equal(store.pem('ca-previous.crt'), first.caCertPem);
  t.notOk(store.secret?.metadata?.annotations?.[ROTATE_CA_ANNOTATION], 'the annotation is removed by the same write');
  t.equal(rotated.generation.generation, 2);
  const again = await ensureCertificateSecret(store.client(), target, names);
  t.equal(again.renewed, 'none', 'one request, one rotation');
});

t.test('the previous CA leaves the bundle a day after the switch', async (t) => {
  const store = new InMemorySecret();
  await ensureCertificateSecret(store.client(), target, names);
  store.secret!.metadata!.annotations![ROTATE_CA_ANNOTATION] = 'now';
  const rotated = await ensureCertificateSecret(store.client(), target, names);
  const stored = { caCertPem: rotated.caCertPem, previousCaCertPem: store.pem('ca-previous.crt')! };
  // (The day counts from the new CA's notBefore, which is backdated a few minutes.)
  t.equal(caBundleOf(stored, new Date(Date.now() + PREVIOUS_CA_RETENTION_MS - 10 * 60_000)), stored.caCertPem + stored.previousCaCertPem);
  t.equal(caBundleOf(stored, new Date(Date.now() + PREVIOUS_CA_RETENTION_MS + 60_000)), stored.caCertPem);
});

t.test('a Secret that keeps changing under it is reported, not looped on forever', async (t) => {
  const store = new InMemorySecret();
  await ensureCertificateSecret(store.client(), target, names);
  const client = store.client();
  const fighting: SecretClient = { ...client, replace: async () => 'conflict' };
  await t.rejects(ensureCertificateSecret(fighting, target, { ...names, dnsNames: ['other.svc'] }), /still changing after 5 attempts.*different --dns-names/);
});
