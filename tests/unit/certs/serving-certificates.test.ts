import t from 'tap';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIssuedBy, readCertificate } from '../../../certs/pki.js';
import { ensureServingCertificates } from '../../../certs/serving-certificates.js';

const names = { dnsNames: ['underpin-webhook.underpin-system.svc'], ipAddresses: ['127.0.0.1'] };
const DAY = 24 * 60 * 60 * 1000;

t.test('creates a CA and a serving certificate with the requested SANs, keys 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  const certs = ensureServingCertificates(dir, names);
  t.equal(certs.renewed, 'ca');
  const facts = readCertificate(certs.certPem);
  t.same(facts.dnsNames, names.dnsNames);
  t.same(facts.ipAddresses, ['127.0.0.1']);
  t.notOk(facts.isCA);
  t.ok(isIssuedBy(certs.certPem, certs.caBundlePem));
  t.ok(readCertificate(certs.caBundlePem).isCA);
  t.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
});

t.test('reuses valid certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  const first = ensureServingCertificates(dir, names);
  const second = ensureServingCertificates(dir, names);
  t.equal(second.renewed, 'none');
  t.equal(second.certPem, first.certPem);
  t.equal(second.caBundlePem, first.caBundlePem);
});

t.test('renews the serving certificate within the renewal window, keeping the CA', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  const first = ensureServingCertificates(dir, { ...names, servingValidityDays: 40 });
  const later = ensureServingCertificates(dir, { ...names, now: new Date(Date.now() + 15 * DAY) });
  t.equal(later.renewed, 'serving');
  t.equal(later.caBundlePem, first.caBundlePem, 'CA unchanged, so the registered caBundle stays valid');
  t.not(later.certPem, first.certPem);
});

t.test('renews when the requested names change', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  ensureServingCertificates(dir, names);
  const again = ensureServingCertificates(dir, { ...names, dnsNames: ['other.svc'] });
  t.equal(again.renewed, 'serving');
  t.same(readCertificate(again.certPem).dnsNames, ['other.svc']);
});

t.test('a renewed CA keeps the previous one in the bundle while it is valid', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  const first = ensureServingCertificates(dir, { ...names, caValidityDays: 40 });
  const later = ensureServingCertificates(dir, { ...names, now: new Date(Date.now() + 20 * DAY) });
  t.equal(later.renewed, 'ca');
  t.ok(later.caBundlePem.includes(first.caBundlePem.trim()), 'old CA still trusted');
  t.ok(isIssuedBy(later.certPem, readFileSync(join(dir, 'ca.crt'), 'utf8')));
});

t.test('replaces an unreadable certificate instead of failing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'underpin-certs-'));
  ensureServingCertificates(dir, names);
  writeFileSync(join(dir, 'tls.crt'), 'garbage');
  const again = ensureServingCertificates(dir, names);
  t.equal(again.renewed, 'serving');
});
