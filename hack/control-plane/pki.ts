// Certificates and keys of one local control plane: a cluster CA, serving
// certificates for each server, client certificates for each identity, and the
// service-account signing key.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from '../../certs/pki.js';

export interface ControlPlanePki {
  dir: string;
  ca: CertificateAndKey;
  files: {
    caCert: string;
    caKey: string;
    apiserverCert: string;
    apiserverKey: string;
    controllerManagerCert: string;
    controllerManagerKey: string;
    schedulerCert: string;
    schedulerKey: string;
    kubeletClientCert: string;
    kubeletClientKey: string;
    serviceAccountKey: string;
    serviceAccountPub: string;
  };
  clients: {
    admin: CertificateAndKey;
    controllerManager: CertificateAndKey;
    scheduler: CertificateAndKey;
  };
}

const VALIDITY_DAYS = 365;
const LOOPBACK = ['127.0.0.1'];

function write(path: string, content: string, mode = 0o644): string {
  writeFileSync(path, content, { mode });
  return path;
}

function serving(ca: CertificateAndKey, commonName: string, dnsNames: string[], ipAddresses: string[]): CertificateAndKey {
  return issueCertificate(ca, { commonName, dnsNames, ipAddresses, usage: 'server', validityDays: VALIDITY_DAYS });
}

function client(ca: CertificateAndKey, commonName: string, organizations: string[] = []): CertificateAndKey {
  return issueCertificate(ca, { commonName, organizations, usage: 'client', validityDays: VALIDITY_DAYS });
}

export function createControlPlanePki(dir: string, serviceClusterIP: string): ControlPlanePki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = createCertificateAuthority('underpin-local-cluster-ca', VALIDITY_DAYS);
  const apiserver = serving(
    ca,
    'kube-apiserver',
    ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    [...LOOPBACK, serviceClusterIP],
  );
  const controllerManager = serving(ca, 'kube-controller-manager', ['localhost'], LOOPBACK);
  const scheduler = serving(ca, 'kube-scheduler', ['localhost'], LOOPBACK);
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // The API server's identity towards kubelets (logs, exec), as kubeadm's apiserver-kubelet-client.
  const kubeletClient = client(ca, 'kube-apiserver-kubelet-client', ['system:masters']);
  const p = (name: string) => join(dir, name);
  return {
    dir,
    ca,
    files: {
      caCert: write(p('ca.crt'), ca.certPem),
      caKey: write(p('ca.key'), ca.keyPem, 0o600),
      apiserverCert: write(p('apiserver.crt'), apiserver.certPem),
      apiserverKey: write(p('apiserver.key'), apiserver.keyPem, 0o600),
      controllerManagerCert: write(p('controller-manager.crt'), controllerManager.certPem),
      controllerManagerKey: write(p('controller-manager.key'), controllerManager.keyPem, 0o600),
      schedulerCert: write(p('scheduler.crt'), scheduler.certPem),
      schedulerKey: write(p('scheduler.key'), scheduler.keyPem, 0o600),
      kubeletClientCert: write(p('apiserver-kubelet-client.crt'), kubeletClient.certPem),
      kubeletClientKey: write(p('apiserver-kubelet-client.key'), kubeletClient.keyPem, 0o600),
      serviceAccountKey: write(p('sa.key'), sa.privateKey, 0o600),
      serviceAccountPub: write(p('sa.pub'), sa.publicKey),
    },
    clients: {
      admin: client(ca, 'underpin-admin', ['system:masters']),
      controllerManager: client(ca, 'system:kube-controller-manager'),
      scheduler: client(ca, 'system:kube-scheduler'),
    },
  };
}
