// Certificates someone else keeps: a kubernetes.io/tls Secret mounted as a directory
// (cert-manager, or PEMs given to the Helm chart). Never generated here; read afresh on
// every call so kubelet's refresh of the mounted Secret (a renewal) is picked up.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCertificate } from './pki.js';
import type { ServingCertificates } from './certificate-plan.js';

const FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

async function readRequired(dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (error) {
    throw new Error(`mounted certificate directory ${dir} has no readable ${file} (expected a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt): ${(error as Error).message}`, { cause: error });
  }
}

export async function loadMountedCertificates(dir: string): Promise<ServingCertificates> {
  const [certPem, keyPem, caCertPem] = await Promise.all([readRequired(dir, FILES.cert), readRequired(dir, FILES.key), readRequired(dir, FILES.ca)]);
  let notAfter: Date;
  try {
    notAfter = readCertificate(certPem).notAfter;
  } catch (error) {
    throw new Error(`${join(dir, FILES.cert)} is not a PEM certificate: ${(error as Error).message}`, { cause: error });
  }
  return { caBundlePem: caCertPem, caCertPem, certPem, keyPem, notAfter, renewed: 'none' };
}
