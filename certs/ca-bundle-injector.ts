// Keeps the caBundle of Underpin's webhook configurations equal to the CA that
// signs the serving certificate, so the API server trusts the webhook after every
// rotation, and after a `kubectl apply` that reset the configurations.
import { AdmissionregistrationV1Api, ApiException, type KubeConfig } from '@kubernetes/client-node';

export interface WebhookConfigurationNames {
  mutating: string;
  validating: string;
}

export interface InjectionResult {
  /** Configurations whose caBundle was changed. */
  updated: string[];
  /** Configurations that do not exist (yet). */
  missing: string[];
}

const MAX_CONFLICT_RETRIES = 5;

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** Set `caBundle` on every webhook of `obj`; return whether anything changed. */
function setCABundle(obj: { webhooks?: { clientConfig: { caBundle?: string } }[] }, encoded: string): boolean {
  let changed = false;
  for (const webhook of obj.webhooks ?? []) {
    if (webhook.clientConfig.caBundle !== encoded) {
      webhook.clientConfig.caBundle = encoded;
      changed = true;
    }
  }
  return changed;
}

async function injectOne(
  name: string,
  read: () => Promise<{ webhooks?: { clientConfig: { caBundle?: string } }[] }>,
  replace: (body: never) => Promise<unknown>,
  encoded: string,
): Promise<'updated' | 'unchanged' | 'missing'> {
  for (let attempt = 0; ; attempt++) {
    let current;
    try {
      current = await read();
    } catch (error) {
      if (isStatus(error, 404)) return 'missing';
      throw error;
    }
    if (!setCABundle(current, encoded)) return 'unchanged';
    try {
      await replace(current as never);
      return 'updated';
    } catch (error) {
      // Someone else wrote it in between: read again and retry on the fresh copy.
      if (isStatus(error, 409) && attempt < MAX_CONFLICT_RETRIES) continue;
      throw new Error(`updating caBundle of ${name}: ${(error as Error).message}`);
    }
  }
}

export async function injectCABundle(
  kubeConfig: KubeConfig,
  caBundlePem: string,
  names: WebhookConfigurationNames,
): Promise<InjectionResult> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const encoded = Buffer.from(caBundlePem).toString('base64');
  const outcomes = await Promise.all([
    injectOne(
      names.mutating,
      () => api.readMutatingWebhookConfiguration({ name: names.mutating }),
      (body) => api.replaceMutatingWebhookConfiguration({ name: names.mutating, body }),
      encoded,
    ).then((outcome) => [names.mutating, outcome] as const),
    injectOne(
      names.validating,
      () => api.readValidatingWebhookConfiguration({ name: names.validating }),
      (body) => api.replaceValidatingWebhookConfiguration({ name: names.validating, body }),
      encoded,
    ).then((outcome) => [names.validating, outcome] as const),
  ]);
  return {
    updated: outcomes.filter(([, o]) => o === 'updated').map(([n]) => n),
    missing: outcomes.filter(([, o]) => o === 'missing').map(([n]) => n),
  };
}
