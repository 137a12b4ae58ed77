// What the webhook's certificates should be, given what is stored now: a pure
// function, shared by the two places they are stored (a directory for a webhook
// run outside a cluster, a Secret shared by every replica inside one).
//
// The CA is kept across serving-certificate renewals, so the caBundle registered
// with the API server stays valid. When the CA itself is renewed (or a rotation is
// asked for), the previous CA stays in the bundle for a day, never past its own
// expiry: long enough for every replica to move to a serving certificate of the new
// CA, so no request is refused during the switch.
import { createCertificateAuthority, issueCertificate, isIssuedBy, readCertificate, type CertificateAndKey } from './pki.js';

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

/** PEM files as stored; any may be missing (first start) or unreadable. */
export interface StoredCertificates {
  caCertPem?: string;
  caKeyPem?: string;
  previousCaCertPem?: string;
  certPem?: string;
  keyPem?: string;
}

/**
 * Where each piece is kept: the same name as a file in a certificate directory and as
 * a key of the shared Secret (kubernetes.io/tls names the serving pair), and the file's
 * mode (keys are private).
 */
export const STORED_CERTIFICATE_NAMES: Readonly<Record<keyof StoredCertificates, { name: string; mode: number }>> = {
  caCertPem: { name: 'ca.crt', mode: 0o644 },
  caKeyPem: { name: 'ca.key', mode: 0o600 },
  previousCaCertPem: { name: 'ca-previous.crt', mode: 0o644 },
  certPem: { name: 'tls.crt', mode: 0o644 },
  keyPem: { name: 'tls.key', mode: 0o600 },
};

export type Renewal = 'none' | 'serving' | 'ca';

export interface CertificatePlan {
  stored: Required<Omit<StoredCertificates, 'previousCaCertPem'>> & { previousCaCertPem?: string };
  /** What has to be written: nothing, a new serving certificate, or a new CA too. */
  renewed: Renewal;
}

export interface ServingCertificates {
  /** The CA bundle to register: the current CA, plus the previous one during a switch. */
  caBundlePem: string;
  /** The CA that signed certPem. */
  caCertPem: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** What loading them had to do: nothing, a new serving certificate, or a new CA too. */
  renewed: Renewal;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a replaced CA stays trusted after the new one was made. */
export const PREVIOUS_CA_RETENTION_MS = DAY_MS;

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
  return options.dnsNames.every((name) => facts.dnsNames.includes(name)) && options.ipAddresses.every((ip) => facts.ipAddresses.includes(ip));
}

/**
 * Keep what is usable; make what is missing, expiring within `renewBeforeDays`, not
 * matching the requested names, or (with `rotateCA`) the CA itself.
 */
export function planServingCertificates(current: StoredCertificates, options: ServingCertificateOptions & { rotateCA?: boolean }): CertificatePlan {
  const now = options.now ?? new Date();
  const horizon = new Date(now.getTime() + (options.renewBeforeDays ?? 30) * DAY_MS);

  let renewed: Renewal = 'none';
  let ca: CertificateAndKey;
  let previousCaCertPem = current.previousCaCertPem;
  if (!options.rotateCA && current.caCertPem && current.caKeyPem && validUntilBeyond(current.caCertPem, horizon)) {
    ca = { certPem: current.caCertPem, keyPem: current.caKeyPem };
  } else {
    previousCaCertPem = current.caCertPem && validUntilBeyond(current.caCertPem, now) ? current.caCertPem : undefined;
    ca = createCertificateAuthority('underpin-webhook-ca', options.caValidityDays ?? 3650, now);
    renewed = 'ca';
  }

  let serving: CertificateAndKey | undefined =
    renewed === 'none' &&
    current.certPem !== undefined &&
    current.keyPem !== undefined &&
    validUntilBeyond(current.certPem, horizon) &&
    isIssuedBy(current.certPem, ca.certPem) &&
    coversNames(current.certPem, options)
      ? { certPem: current.certPem, keyPem: current.keyPem }
      : undefined;
  if (!serving) {
    serving = issueCertificate(
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
    if (renewed === 'none') renewed = 'serving';
  }
  return {
    stored: { caCertPem: ca.certPem, caKeyPem: ca.keyPem, certPem: serving.certPem, keyPem: serving.keyPem, ...(previousCaCertPem ? { previousCaCertPem } : {}) },
    renewed,
  };
}

/** The bundle to register: the CA, and the previous one while it is retained and valid. */
export function caBundleOf(stored: { caCertPem: string; previousCaCertPem?: string }, now = new Date()): string {
  const previous = stored.previousCaCertPem;
  if (!previous || !validUntilBeyond(previous, now)) return stored.caCertPem;
  // The current CA was made (notBefore is backdated a few minutes) when the previous one was replaced.
  const replacedAt = readCertificate(stored.caCertPem).notBefore.getTime();
  if (now.getTime() - replacedAt > PREVIOUS_CA_RETENTION_MS) return stored.caCertPem;
  return stored.caCertPem + previous;
}

export function servingCertificatesOf(plan: CertificatePlan, now = new Date()): ServingCertificates {
  const { stored } = plan;
  return {
    caBundlePem: caBundleOf(stored, now),
    caCertPem: stored.caCertPem,
    certPem: stored.certPem,
    keyPem: stored.keyPem,
    notAfter: readCertificate(stored.certPem).notAfter,
    renewed: plan.renewed,
  };
}

/** Does a PEM bundle (as registered in a caBundle) contain this CA certificate? */
export function bundleContains(bundlePem: string, caCertPem: string): boolean {
  const wanted = caCertPem.replace(/\s+/g, '');
  return bundlePem.replace(/\s+/g, '').includes(wanted);
}
