// A small PKI on node-forge: a CA that issues serving and client certificates.
// Used by the webhook (its serving certificate) and by hack/ (the local control
// plane's certificates), so both trust chains are built the same way.
import forge from 'node-forge';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface CertificateRequest {
  commonName: string;
  /** Subject O= values; Kubernetes reads them as the client's groups. */
  organizations?: string[];
  /** Subject alternative names: DNS names and IP addresses. */
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  validityDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdate so a peer whose clock is slightly behind still accepts a fresh certificate.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

function newKeyPair(): forge.pki.rsa.KeyPair {
  // node-forge delegates to node:crypto when it is there, so this takes milliseconds.
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function serialNumber(): string {
  // Positive 128-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function validityWindow(cert: forge.pki.Certificate, validityDays: number, now: Date): void {
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS);
}

export function createCertificateAuthority(commonName: string, validityDays: number, now = new Date()): CertificateAndKey {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validityWindow(cert, validityDays, now);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function issueCertificate(ca: CertificateAndKey, request: CertificateRequest, now = new Date()): CertificateAndKey {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validityWindow(cert, request.validityDays, now);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: request.commonName }];
  for (const organization of request.organizations ?? []) subject.push({ name: 'organizationName', value: organization });
  cert.setSubject(subject);
  cert.setIssuer(caCert.subject.attributes);

  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => {
      if (isIP(ip) === 0) throw new Error(`certificate ${request.commonName}: "${ip}" is not an IP address`);
      return { type: 7, ip };
    }),
  ];
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: request.usage !== 'client',
      clientAuth: request.usage !== 'server',
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

export interface CertificateFacts {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCA: boolean;
}

/** What a PEM certificate says about itself; throws if the PEM is not a certificate. */
export function readCertificate(certPem: string): CertificateFacts {
  const cert = forge.pki.certificateFromPem(certPem);
  const san = cert.getExtension('subjectAltName') as { altNames?: { type: number; value?: string; ip?: string }[] } | null;
  const basic = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  const altNames = san?.altNames ?? [];
  return {
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    dnsNames: altNames.filter((n) => n.type === 2 && n.value).map((n) => n.value!),
    ipAddresses: altNames.filter((n) => n.type === 7 && n.ip).map((n) => n.ip!),
    isCA: basic?.cA === true,
  };
}

/** True when `certPem` was signed by the CA in `caPem`. */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  try {
    return forge.pki.certificateFromPem(caPem).verify(forge.pki.certificateFromPem(certPem));
  } catch {
    return false;
  }
}
