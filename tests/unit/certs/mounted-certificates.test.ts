import t from 'tap';
import { mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../../certs/pki.js';
import { mountedSource } from '../../../certs/serving-certificate-keeper.js';

function writeTlsSecret(dir: string, commonName: string) {
  const ca = createCertificateAuthority(`${commonName} CA`, 10);
  const serving = issueCertificate(ca, { commonName, dnsNames: ['underpin-webhook.underpin-system.svc'], usage: 'server', validityDays: 5 });
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem);
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  return { ca, serving };
}

t.test('reads tls.crt, tls.key and ca.crt, and re-reads them on every load', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-mounted-'));
  const first = writeTlsSecret(dir, 'first');
  const source = mountedSource(dir);
  const loaded = await source.load();
  t.equal(loaded.certPem, first.serving.certPem);
  t.equal(loaded.keyPem, first.serving.keyPem);
  t.equal(loaded.caCertPem, first.ca.certPem);
  t.equal(loaded.caBundlePem, first.ca.certPem);
  t.equal(loaded.renewed, 'none');
  t.ok(loaded.notAfter.getTime() > Date.now());
  const second = writeTlsSecret(dir, 'second');
  const reloaded = await source.load();
  t.equal(reloaded.certPem, second.serving.certPem);
  t.equal(reloaded.caCertPem, second.ca.certPem);
});

t.test('a missing file is named, and nothing is generated', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-mounted-'));
  writeTlsSecret(dir, 'x');
  unlinkSync(join(dir, 'ca.crt'));
  await t.rejects(mountedSource(dir).load(), /has no readable ca\.crt/);
  const empty = mkdtempSync(join(tmpdir(), 'underpin-mounted-'));
  await t.rejects(mountedSource(empty).load(), /has no readable tls\.(crt|key)/);
});

t.test('a tls.crt that is not a certificate is reported', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-mounted-'));
  writeTlsSecret(dir, 'x');
  writeFileSync(join(dir, 'tls.crt'), 'not pem');
  await t.rejects(mountedSource(dir).load(), /tls\.crt is not a PEM certificate/);
});
