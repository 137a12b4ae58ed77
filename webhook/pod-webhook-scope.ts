// Keeps the pod-mutating webhook's matchConditions as this replica's settings say
// (podMatchConditions in configurations.ts). `kubectl apply -k manifests/` registers
// the configuration for the default (every pod but hostNetwork ones sent); a controller started with
// clusterNetworkIPAM: other narrows it, and widens it again when the setting goes
// back. Run with every caBundle check, so a re-apply of the manifests is undone within
// one check interval.
import { AdmissionregistrationV1Api, type KubeConfig, type V1MatchCondition, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { rewriteConfiguration } from '../certs/configuration-rewrite.js';
import { POD_MUTATE_WEBHOOK } from './configurations.js';

/** `unsupported`: the API server dropped matchConditions (Kubernetes before 1.28): every pod stays sent. */
export type ScopeOutcome = 'updated' | 'unchanged' | 'missing' | 'unsupported';

const conditionsOf = (list: V1MatchCondition[] | undefined) => (list ?? []).map((c) => ({ name: c.name, expression: c.expression }));

export function keepPodWebhookScope(kubeConfig: KubeConfig, configurationName: string, conditions: V1MatchCondition[] | undefined): Promise<ScopeOutcome> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const wanted = conditionsOf(conditions);
  const podWebhook = (configuration: V1MutatingWebhookConfiguration) => configuration.webhooks?.find((w) => w.name === POD_MUTATE_WEBHOOK);
  return rewriteConfiguration<V1MutatingWebhookConfiguration, ScopeOutcome>({
    what: `matchConditions of ${POD_MUTATE_WEBHOOK} in ${configurationName}`,
    read: () => api.readMutatingWebhookConfiguration({ name: configurationName }),
    replace: (body) => api.replaceMutatingWebhookConfiguration({ name: configurationName, body }),
    missing: 'missing',
    change: (current) => {
      const webhook = podWebhook(current);
      if (!webhook) return { keep: 'missing' };
      if (isDeepStrictEqual(conditionsOf(webhook.matchConditions), wanted)) return { keep: 'unchanged' };
      if (conditions) webhook.matchConditions = conditions;
      else delete webhook.matchConditions;
      // An API server that does not know the field drops it: judged from what it stored.
      return { write: (stored) => (isDeepStrictEqual(conditionsOf(podWebhook(stored)?.matchConditions), wanted) ? 'updated' : 'unsupported') };
    },
  });
}
