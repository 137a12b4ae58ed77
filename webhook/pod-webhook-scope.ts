// Keeps the pod-mutating webhook's matchConditions as this replica's settings say
// (podMatchConditions in configurations.ts). `kubectl apply -k manifests/` registers
// the configuration for the default (every pod sent); a controller started with
// clusterNetworkIPAM: other narrows it, and widens it again when the setting goes
// back. Run with every caBundle check, so a re-apply of the manifests is undone within
// one check interval.
import { AdmissionregistrationV1Api, ApiException, type KubeConfig, type V1MatchCondition } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { POD_MUTATE_WEBHOOK } from './configurations.js';
import { apiStatus } from './api-status.js';

const MAX_CONFLICT_RETRIES = 5;

/** `unsupported`: the API server dropped matchConditions (Kubernetes before 1.28): every pod stays sent. */
export type ScopeOutcome = 'updated' | 'unchanged' | 'missing' | 'unsupported';

const conditionsOf = (list: V1MatchCondition[] | undefined) => (list ?? []).map((c) => ({ name: c.name, expression: c.expression }));

export async function keepPodWebhookScope(kubeConfig: KubeConfig, configurationName: string, conditions: V1MatchCondition[] | undefined): Promise<ScopeOutcome> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const wanted = conditions ?? [];
  for (let attempt = 0; ; attempt++) {
    let current;
    try {
      current = await api.readMutatingWebhookConfiguration({ name: configurationName });
    } catch (error) {
      if (apiStatus(error) === 404) return 'missing';
      throw error;
    }
    const webhook = current.webhooks?.find((w) => w.name === POD_MUTATE_WEBHOOK);
    if (!webhook) return 'missing';
    if (isDeepStrictEqual(conditionsOf(webhook.matchConditions), conditionsOf(wanted))) return 'unchanged';
    if (conditions) webhook.matchConditions = conditions;
    else delete webhook.matchConditions;
    try {
      const stored = await api.replaceMutatingWebhookConfiguration({ name: configurationName, body: current });
      const kept = stored.webhooks?.find((w) => w.name === POD_MUTATE_WEBHOOK)?.matchConditions;
      return isDeepStrictEqual(conditionsOf(kept), conditionsOf(wanted)) ? 'updated' : 'unsupported';
    } catch (error) {
      // Someone else (another replica, the caBundle writer) wrote it in between: read again.
      if (apiStatus(error) === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
      throw new Error(`updating matchConditions of ${POD_MUTATE_WEBHOOK} in ${configurationName}: ${(error as Error).message}`);
    }
  }
}
