// The webhook's certificates on disk: a CA and a serving certificate signed by it.
// They are reused while valid and renewed well before they expire; the CA is kept
// across serving-certificate renewals so the caBundle registered with the API
// server stays valid, and when the CA itself is renewed the previous one stays in
// the bundle until it expires, so no request is refused during the switch.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  issueCertificate,
  isIssuedBy,
  readCertificate,
  type CertificateAndKey,
} from './pki.js';

export interface ServingCertificateOptions {
  /** DNS names the API server may use to reach the webhook (Service names). */
  dnsNames: string[];
  /** IP addresses the API server may use (127.0.0.1 for the local cluster). */
  ipAddresses: string[];
  caValidityDays?: number;
  servingValidityDays?: number;
  /** Renew a certificate when it has less than this left. */
  renewBeforeDays?: number;
  now?: Date;
}

export interface ServingCertificates {
  /** The CA bundle to register: the current CA, plus the previous one while it is valid. */
  caBundlePem: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** What this call had to do: nothing, a new serving certificate, or a new CA too. */
  renewed: 'none' | 'serving' | 'ca';
}

const FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  previousCaCert: 'ca-previous.crt',
  cert: 'tls.crt',
  key: 'tls.key',
} as const;

const DAY_MS = 24 * 60 * 60 * 1000;

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Write through a temporary file and rename, so a crash never leaves half a key. */
function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

function validUntilBeyond(certPem: string | undefined, horizon: Date): boolean {
  if (!certPem) return false;
  try {
    return readCertificate(certPem).notAfter > horizon;
  } catch {
    return false; // unreadable: treat as absent and replace it
  }
}

function coversNames(certPem: string, options: ServingCertificateOptions): boolean {
  const facts = readCertificate(certPem);
  return (
    options.dnsNames.every((name) => facts.dnsNames.includes(name)) &&
    options.ipAddresses.every((ip) => facts.ipAddresses.includes(ip))
  );
}

/**
 * Load the certificates in `dir`, creating or renewing what is missing, expiring
 * within `renewBeforeDays`, or not matching the requested names.
 */
export function ensureServingCertificates(dir: string, options: ServingCertificateOptions): ServingCertificates {
  const now = options.now ?? new Date();
  const renewBefore = (options.renewBeforeDays ?? 30) * DAY_MS;
  const horizon = new Date(now.getTime() + renewBefore);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = (name: keyof typeof FILES) => join(dir, FILES[name]);

  let renewed: ServingCertificates['renewed'] = 'none';
  let ca: CertificateAndKey | undefined;
  const caCert = readIfPresent(path('caCert'));
  const caKey = readIfPresent(path('caKey'));
  if (caCert && caKey && validUntilBeyond(caCert, horizon)) {
    ca = { certPem: caCert, keyPem: caKey };
  } else {
    if (caCert && validUntilBeyond(caCert, now)) writeAtomically(path('previousCaCert'), caCert, 0o644);
    ca = createCertificateAuthority('underpin-webhook-ca', options.caValidityDays ?? 3650, now);
    writeAtomically(path('caKey'), ca.keyPem, 0o600);
    writeAtomically(path('caCert'), ca.certPem, 0o644);
    renewed = 'ca';
  }

  let certPem = readIfPresent(path('cert'));
  let keyPem = readIfPresent(path('key'));
  const servingUsable =
    renewed === 'none' &&
    certPem !== undefined &&
    keyPem !== undefined &&
    validUntilBeyond(certPem, horizon) &&
    isIssuedBy(certPem, ca.certPem) &&
    coversNames(certPem, options);
  if (!servingUsable) {
    const issued = issueCertificate(
      ca,
      {
        commonName: options.dnsNames[0] ?? options.ipAddresses[0] ?? 'underpin-webhook',
        dnsNames: options.dnsNames,
        ipAddresses: options.ipAddresses,
        usage: 'server',
        validityDays: options.servingValidityDays ?? 365,
      },
      now,
    );
    writeAtomically(path('key'), issued.keyPem, 0o600);
    writeAtomically(path('cert'), issued.certPem, 0o644);
    certPem = issued.certPem;
    keyPem = issued.keyPem;
    if (renewed === 'none') renewed = 'serving';
  }

  const previous = readIfPresent(path('previousCaCert'));
  const caBundlePem = previous && validUntilBeyond(previous, now) ? ca.certPem + previous : ca.certPem;
  return { caBundlePem, certPem: certPem!, keyPem: keyPem!, notAfter: readCertificate(certPem!).notAfter, renewed };
}
