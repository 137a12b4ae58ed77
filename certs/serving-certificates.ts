// The webhook's certificates in a local directory, for a webhook that runs outside a
// cluster (the local control plane of hack/): a CA and a serving certificate signed
// by it, reused while valid and renewed well before they expire (see
// certificate-plan.ts). Replicas inside a cluster share them in a Secret instead
// (certificate-secret.ts).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planServingCertificates, servingCertificatesOf, STORED_CERTIFICATE_NAMES, type ServingCertificateOptions, type ServingCertificates, type StoredCertificates } from './certificate-plan.js';

export type { ServingCertificateOptions, ServingCertificates } from './certificate-plan.js';

function readIfPresent(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Write through a temporary file and rename, so a crash never leaves half a key. */
function writeAtomically(path: string, content: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

/**
 * Load the certificates in `dir`, creating or renewing what is missing, expiring
 * within `renewBeforeDays`, or not matching the requested names.
 */
export function ensureServingCertificates(dir: string, options: ServingCertificateOptions): ServingCertificates {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const current: StoredCertificates = {};
  for (const [key, file] of Object.entries(STORED_CERTIFICATE_NAMES) as [keyof StoredCertificates, { name: string }][]) {
    const content = readIfPresent(join(dir, file.name));
    if (content !== undefined) current[key] = content;
  }
  const plan = planServingCertificates(current, options);
  if (plan.renewed !== 'none') {
    // Keys before certificates: a reader that sees the new certificate finds its key.
    const order: (keyof StoredCertificates)[] = ['previousCaCertPem', 'caKeyPem', 'caCertPem', 'keyPem', 'certPem'];
    for (const key of order) {
      const content = plan.stored[key];
      if (content !== undefined && content !== current[key]) writeAtomically(join(dir, STORED_CERTIFICATE_NAMES[key].name), content, STORED_CERTIFICATE_NAMES[key].mode);
    }
  }
  return servingCertificatesOf(plan, options.now);
}
