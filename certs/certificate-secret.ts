// The webhook's CA and serving certificate in one Secret (type kubernetes.io/tls,
// plus ca.crt, ca.key and ca-previous.crt), shared by every replica, so they all
// serve certificates of the one CA registered in the caBundle.
//
// - Creating the Secret is the lock: of replicas starting together, one create
//   succeeds; the others get AlreadyExists and use what it wrote.
// - Renewal and rotation replace it with the resourceVersion that was read: one
//   writer wins, the others get 409, read again and find the work done.
// - Every write bumps the annotation underpin.dev/certificate-generation, so a
//   replica holding an older copy never overwrites a newer caBundle
//   (ca-bundle-injector.ts).
// - `kubectl -n underpin-system annotate secret underpin-webhook-tls underpin.dev/rotate-ca=now`
//   makes the next replica that looks (within --cert-sync-seconds) replace the CA; the
//   previous CA stays trusted for a day.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import {
  planServingCertificates,
  servingCertificatesOf,
  STORED_CERTIFICATE_NAMES,
  type ServingCertificateOptions,
  type ServingCertificates,
  type StoredCertificates,
} from './certificate-plan.js';
import { apiStatus } from '../kube/api-status.js';

export const GENERATION_ANNOTATION = 'underpin.dev/certificate-generation';
export const ROTATE_CA_ANNOTATION = 'underpin.dev/rotate-ca';

/** Which copy of the certificates a caBundle came from: Secret UID and write count. */
export interface BundleGeneration {
  uid: string;
  generation: number;
}

export interface SharedCertificates extends ServingCertificates {
  generation: BundleGeneration;
}

/** The three calls the store needs; a fake in unit tests, the API in the webhook. */
export interface SecretClient {
  readonly description: string;
  /** undefined when the Secret does not exist. */
  read(): Promise<V1Secret | undefined>;
  /** 'exists' when another writer created it first. */
  create(body: V1Secret): Promise<V1Secret | 'exists'>;
  /** 'conflict' when it changed since it was read (body.metadata.resourceVersion). */
  replace(body: V1Secret): Promise<V1Secret | 'conflict'>;
}


const MAX_ATTEMPTS = 5;

function storedIn(secret: V1Secret | undefined): StoredCertificates {
  const stored: StoredCertificates = {};
  for (const [field, { name }] of Object.entries(STORED_CERTIFICATE_NAMES) as [keyof StoredCertificates, { name: string }][]) {
    const encoded = secret?.data?.[name];
    if (encoded) stored[field] = Buffer.from(encoded, 'base64').toString('utf8');
  }
  return stored;
}

function generationOf(secret: V1Secret): number {
  const value = Number(secret.metadata?.annotations?.[GENERATION_ANNOTATION]);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function nextSecret(current: V1Secret | undefined, stored: StoredCertificates, name: string, namespace: string): V1Secret {
  const annotations = { ...(current?.metadata?.annotations ?? {}) };
  delete annotations[ROTATE_CA_ANNOTATION];
  annotations[GENERATION_ANNOTATION] = String((current ? generationOf(current) : 0) + 1);
  const data: Record<string, string> = {};
  for (const [field, { name }] of Object.entries(STORED_CERTIFICATE_NAMES) as [keyof StoredCertificates, { name: string }][]) {
    const pem = stored[field];
    if (pem !== undefined) data[name] = Buffer.from(pem).toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      ...(current?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(current?.metadata?.labels ?? {}), 'app.kubernetes.io/name': 'underpin', 'app.kubernetes.io/component': 'webhook' },
      annotations,
    },
    data,
  };
}

/**
 * Read the shared certificates, creating the Secret or renewing what is due; when
 * another replica wins a race, use what it wrote.
 */
export async function ensureCertificateSecret(
  client: SecretClient,
  target: { name: string; namespace: string },
  options: ServingCertificateOptions,
): Promise<SharedCertificates> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const current = await client.read();
    const rotateCA = current?.metadata?.annotations?.[ROTATE_CA_ANNOTATION] !== undefined;
    const plan = planServingCertificates(storedIn(current), { ...options, rotateCA });
    let written: V1Secret | 'exists' | 'conflict' = current!;
    if (plan.renewed !== 'none') {
      const body = nextSecret(current, plan.stored, target.name, target.namespace);
      written = current ? await client.replace(body) : await client.create(body);
      if (written === 'exists' || written === 'conflict') continue; // another replica wrote first: use its copy
    }
    const generation = { uid: written.metadata?.uid ?? '', generation: generationOf(written) };
    return { ...servingCertificatesOf(plan, options.now), generation };
  }
  throw new Error(`${client.description}: still changing after ${MAX_ATTEMPTS} attempts to read and update it; is another writer fighting over it (different --dns-names)?`);
}


function actionable(error: unknown, verb: string, description: string): Error {
  if (apiStatus(error) === 403) {
    return new Error(`cannot ${verb} ${description}: forbidden; grant the controller's service account ${verb} on secrets in that namespace (manifests/controller/rbac.yaml)`);
  }
  return new Error(`cannot ${verb} ${description}: ${(error as Error).message}`);
}

export function apiSecretClient(kubeConfig: KubeConfig, namespace: string, name: string): SecretClient {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const description = `Secret ${namespace}/${name}`;
  return {
    description,
    async read() {
      try {
        return await api.readNamespacedSecret({ namespace, name });
      } catch (error) {
        if (apiStatus(error) === 404) return undefined;
        throw actionable(error, 'get', description);
      }
    },
    async create(body) {
      try {
        return await api.createNamespacedSecret({ namespace, body });
      } catch (error) {
        if (apiStatus(error) === 409) return 'exists';
        throw actionable(error, 'create', description);
      }
    },
    async replace(body) {
      try {
        return await api.replaceNamespacedSecret({ namespace, name, body });
      } catch (error) {
        if (apiStatus(error) === 409) return 'conflict';
        throw actionable(error, 'update', description);
      }
    },
  };
}
