// Kubeconfig files for the local control plane's client identities.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { CertificateAndKey } from '../../certs/pki.js';

export function kubeconfigYaml(server: string, caPem: string, client: CertificateAndKey, user: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'underpin-local', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) } }],
    contexts: [{ name: 'underpin-local', context: { cluster: 'underpin-local', user } }],
    'current-context': 'underpin-local',
  });
}

export function writeKubeconfig(path: string, server: string, caPem: string, client: CertificateAndKey, user: string): void {
  writeFileSync(path, kubeconfigYaml(server, caPem, client, user), { mode: 0o600 });
}
