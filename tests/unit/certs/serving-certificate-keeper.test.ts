// The order the keeper follows when certificates change: register the CA bundle,
// serve a certificate of a new CA only once the configurations trust it and a
// moment has passed, and keep serving the current one when anything fails.
import t from 'tap';
import pino from 'pino';
import { createCertificateAuthority, issueCertificate } from '../../../certs/pki.js';
import { ServingCertificateKeeper, type CertificateSource, type LoadedCertificates } from '../../../certs/serving-certificate-keeper.js';
import type { InjectionResult } from '../../../certs/ca-bundle-injector.js';

const log = pino({ level: 'silent' });

function certificates(ca = createCertificateAuthority('test-ca', 30)): LoadedCertificates {
  const serving = issueCertificate(ca, { commonName: 'svc', dnsNames: ['svc'], usage: 'server', validityDays: 10 });
  return { caBundlePem: ca.certPem, caCertPem: ca.certPem, certPem: serving.certPem, keyPem: serving.keyPem, notAfter: new Date(), renewed: 'none' };
}

function harness(initial: LoadedCertificates, caPropagationMs = 30) {
  const events: string[] = [];
  let next: LoadedCertificates | Error = initial;
  let registered = initial.caBundlePem;
  let acceptRegistration = true;
  const source: CertificateSource = {
    description: 'test',
    load: async () => {
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const keeper = new ServingCertificateKeeper({
    source,
    register: async (bundle): Promise<InjectionResult> => {
      if (acceptRegistration && registered !== bundle) {
        registered = bundle;
        events.push('registered');
      }
      return { updated: [], missing: [], newer: [], registered: [registered, registered] };
    },
    serve: (tls) => events.push(`served ${tls.certPem === initial.certPem ? 'initial' : 'next'}`),
    log,
    intervalMs: 60_000,
    caPropagationMs,
  });
  return {
    keeper,
    events,
    setNext: (value: LoadedCertificates | Error) => (next = value),
    refuseRegistration: (refuse: boolean) => (acceptRegistration = !refuse),
  };
}

t.test('a renewed serving certificate of the same CA is served at once', async (t) => {
  const ca = createCertificateAuthority('test-ca', 30);
  const h = harness(certificates(ca));
  await h.keeper.load();
  const renewed = certificates(ca);
  h.setNext(renewed);
  await h.keeper.sync();
  t.same(h.events, ['served next']);
  t.equal(h.keeper.current?.certPem, renewed.certPem);
});

t.test('a certificate of a new CA waits until the bundle with that CA is registered, then a moment more', async (t) => {
  const h = harness(certificates(), 50);
  await h.keeper.load();
  const rotated = certificates();
  rotated.caBundlePem = rotated.caCertPem + h.keeper.current!.caCertPem;
  h.setNext(rotated);

  h.refuseRegistration(true);
  await h.keeper.sync();
  t.same(h.events, [], 'not served while the configurations do not trust the new CA');

  h.refuseRegistration(false);
  const started = Date.now();
  await h.keeper.sync();
  t.same(h.events, ['registered', 'served next'], 'registered first, served after');
  t.ok(Date.now() - started >= 45, 'after the propagation delay');
});

t.test('when the certificates cannot be loaded, the current one stays', async (t) => {
  const h = harness(certificates());
  const initial = await h.keeper.load();
  h.setNext(new Error('API down'));
  await h.keeper.sync();
  t.same(h.events, []);
  t.equal(h.keeper.current?.certPem, initial.certPem);
});

t.test('rounds never overlap', async (t) => {
  const h = harness(certificates(), 50);
  await h.keeper.load();
  h.setNext(certificates());
  await Promise.all([h.keeper.sync(), h.keeper.sync(), h.keeper.sync()]);
  t.same(h.events, ['registered', 'served next'], 'one round did the work');
});
