// Keeps the caBundle of Underpin's webhook configurations equal to the CA bundle
// that signs the serving certificate, so the API server trusts the webhook after
// every rotation, and after a `kubectl apply` that reset the configurations.
//
// With several replicas sharing certificates through a Secret, each caBundle write
// records which copy of the Secret it came from (annotation
// underpin.dev/ca-bundle-generation = "<secret uid>/<generation>"). A replica that
// still holds an older copy leaves a newer bundle alone: without that, a replica
// that read the Secret a moment before a rotation could put back a bundle that no
// longer trusts the rotated certificate.
import { AdmissionregistrationV1Api, ApiException, type KubeConfig } from '@kubernetes/client-node';
import type { BundleGeneration } from './certificate-secret.js';
import { rewriteConfiguration } from './configuration-rewrite.js';

export interface WebhookConfigurationNames {
  mutating: string;
  validating: string;
}

export interface InjectionResult {
  /** Configurations whose caBundle was changed. */
  updated: string[];
  /** Configurations that do not exist (yet). */
  missing: string[];
  /** Configurations left alone because they carry a bundle from a newer copy of the certificates. */
  newer: string[];
  /** The caBundles registered now (decoded PEM), one per webhook of the existing configurations. */
  registered: string[];
}

export const BUNDLE_GENERATION_ANNOTATION = 'underpin.dev/ca-bundle-generation';

type Configuration = {
  metadata?: { annotations?: { [key: string]: string } };
  webhooks?: { clientConfig: { caBundle?: string } }[];
};


function parseGeneration(text: string | undefined): BundleGeneration | undefined {
  const match = /^(.*)\/(\d+)$/.exec(text ?? '');
  return match ? { uid: match[1]!, generation: Number(match[2]) } : undefined;
}

/** A bundle from a later write of the same Secret wins; anything else (other Secret, none) is replaced. */
function isNewer(registered: BundleGeneration | undefined, ours: BundleGeneration | undefined): boolean {
  return ours !== undefined && registered !== undefined && registered.uid === ours.uid && registered.generation > ours.generation;
}

/** Set `caBundle` on every webhook of `obj` (and the generation); return whether anything changed. */
function setCABundle(obj: Configuration, encoded: string, generation: BundleGeneration | undefined): boolean {
  let changed = false;
  for (const webhook of obj.webhooks ?? []) {
    if (webhook.clientConfig.caBundle !== encoded) {
      webhook.clientConfig.caBundle = encoded;
      changed = true;
    }
  }
  if (generation) {
    const value = `${generation.uid}/${generation.generation}`;
    const annotations = (obj.metadata ??= {}).annotations ?? {};
    if (annotations[BUNDLE_GENERATION_ANNOTATION] !== value) {
      obj.metadata.annotations = { ...annotations, [BUNDLE_GENERATION_ANNOTATION]: value };
      changed = true;
    }
  }
  return changed;
}

function registeredBundles(obj: Configuration): string[] {
  return (obj.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString('utf8'));
}

type Outcome = { outcome: 'updated' | 'unchanged' | 'missing' | 'newer'; registered: string[] };

function injectOne(
  name: string,
  read: () => Promise<Configuration>,
  replace: (body: never) => Promise<unknown>,
  encoded: string,
  generation: BundleGeneration | undefined,
): Promise<Outcome> {
  return rewriteConfiguration<Configuration, Outcome>({
    what: `caBundle of ${name}`,
    read,
    // The bundles registered are read from what was sent.
    replace: async (body) => {
      await replace(body as never);
      return body;
    },
    missing: { outcome: 'missing', registered: [] },
    change: (current) => {
      if (isNewer(parseGeneration(current.metadata?.annotations?.[BUNDLE_GENERATION_ANNOTATION]), generation)) {
        return { keep: { outcome: 'newer', registered: registeredBundles(current) } };
      }
      if (!setCABundle(current, encoded, generation)) return { keep: { outcome: 'unchanged', registered: registeredBundles(current) } };
      return { write: (sent) => ({ outcome: 'updated', registered: registeredBundles(sent) }) };
    },
  });
}

export async function injectCABundle(
  kubeConfig: KubeConfig,
  caBundlePem: string,
  names: WebhookConfigurationNames,
  generation?: BundleGeneration,
): Promise<InjectionResult> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const encoded = Buffer.from(caBundlePem).toString('base64');
  const outcomes = await Promise.all([
    injectOne(
      names.mutating,
      () => api.readMutatingWebhookConfiguration({ name: names.mutating }),
      (body) => api.replaceMutatingWebhookConfiguration({ name: names.mutating, body }),
      encoded,
      generation,
    ).then((o) => [names.mutating, o] as const),
    injectOne(
      names.validating,
      () => api.readValidatingWebhookConfiguration({ name: names.validating }),
      (body) => api.replaceValidatingWebhookConfiguration({ name: names.validating, body }),
      encoded,
      generation,
    ).then((o) => [names.validating, o] as const),
  ]);
  const named = (kind: Outcome['outcome']) => outcomes.filter(([, o]) => o.outcome === kind).map(([n]) => n);
  return { updated: named('updated'), missing: named('missing'), newer: named('newer'), registered: outcomes.flatMap(([, o]) => o.registered) };
}
