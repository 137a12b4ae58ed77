// The MutatingWebhookConfiguration and ValidatingWebhookConfiguration that route
// admission to Underpin. One definition serves both the in-cluster manifests
// (Service-based) and the local control plane (URL-based).
import type { V1MatchCondition, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { BINDING_ID_LABEL, IGNORE_LABEL } from '../ipam/binding.js';
import { POD_MUTATE_PATH, POD_VALIDATE_PATH, WORKLOAD_VALIDATE_PATH } from './pods.js';
import { SPIDER_MUTATE_PATH, SPIDER_VALIDATE_PATH } from './spider-resources.js';
import { SPIDER_COORDINATOR, SPIDER_IPPOOL, SPIDER_MULTUS_CONFIG, SPIDER_RESERVED_IP, SPIDER_SUBNET } from '../kube/resources.js';

export const MUTATING_CONFIGURATION_NAME = 'underpin-mutating';
export const VALIDATING_CONFIGURATION_NAME = 'underpin-validating';

/**
 * The Service in front of the webhook replicas in a cluster
 * (manifests/controller/webhook-service.yaml); the serving certificate is made for its names.
 */
export const WEBHOOK_SERVICE = { namespace: 'underpin-system', name: 'underpin-webhook', port: 443 } as const;

/** Where the API server reaches the webhook. */
export type WebhookTarget =
  | { url: string } // base URL, e.g. https://127.0.0.1:9443
  | { service: { namespace: string; name: string; port: number } };

const SPIDER_RESOURCES = [SPIDER_SUBNET.plural, SPIDER_IPPOOL.plural, SPIDER_RESERVED_IP.plural, SPIDER_COORDINATOR.plural];

/** Namespaced, unlike the others: a rule of its own (a rule has one scope). */
function multusConfigRule(operations: string[]) {
  return { ...spiderRule(operations), resources: [SPIDER_MULTUS_CONFIG.plural], scope: 'Namespaced' };
}

function clientConfig(target: WebhookTarget, path: string, caBundle?: string) {
  const bundle = caBundle ? { caBundle: Buffer.from(caBundle).toString('base64') } : {};
  if ('url' in target) return { url: `${target.url.replace(/\/$/, '')}${path}`, ...bundle };
  return { service: { ...target.service, path }, ...bundle };
}

function common() {
  return {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: 10,
  };
}

function spiderRule(operations: string[]) {
  return {
    apiGroups: ['spiderpool.spidernet.io'],
    apiVersions: ['v2beta1'],
    operations,
    resources: SPIDER_RESOURCES,
    scope: 'Cluster',
  };
}

/**
 * Namespaces whose pods Underpin never judges: its own (all of whose pods are
 * hostNetwork anyway). kube-system is judged like any namespace: where Underpin is
 * the primary IPAM its DNS pods need addresses too, and its hostNetwork pods
 * (kube-proxy, CNI agents) are passed over by condition (docs/bootstrap.md).
 */
export const EXCLUDED_NAMESPACES = ['underpin-system'];

function podRule(operations: string[]) {
  return { apiGroups: [''], apiVersions: ['v1'], operations, resources: ['pods'], scope: 'Namespaced' };
}

/** Pods in excluded namespaces, hostNetwork pods (podMatchConditions), or labelled underpin.dev/ignore=true (pod or namespace), are never sent to us. */
const podSelectors = () => ({
  namespaceSelector: {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: EXCLUDED_NAMESPACES },
      { key: IGNORE_LABEL, operator: 'NotIn', values: ['true'] },
    ],
  },
  objectSelector: { matchExpressions: [{ key: IGNORE_LABEL, operator: 'NotIn', values: ['true'] }] },
});

/** The pod-mutating webhook's name in the MutatingWebhookConfiguration. */
export const POD_MUTATE_WEBHOOK = 'pods.mutate.underpin.dev';

/**
 * A hostNetwork pod has no interface of its own to address: it is never bound, and
 * never sent, so a node's system DaemonSets (and Underpin's own controller) start
 * while no webhook answers.
 */
export const NOT_HOST_NETWORK: V1MatchCondition = {
  name: 'not-host-network',
  expression: '!has(object.spec.hostNetwork) || !object.spec.hostNetwork',
};

/** CEL: the object has `path` (fields from `object`) and it is true; false where any step is missing. */
function fieldIsTrue(path: string[]): string {
  const steps = path.map((_, i) => `has(object.${path.slice(0, i + 1).join('.')})`);
  return `(${[...steps, `object.${path.join('.')} == true`].join(' && ')})`;
}

/**
 * A workload whose pods are hostNetwork gets no addresses, so no auto pools and no
 * judgement: kube-proxy or a CNI agent's DaemonSet applies while no webhook answers.
 * Step by step, because the same webhook receives Scale objects (no template) too.
 */
export const NOT_HOST_NETWORK_TEMPLATE: V1MatchCondition = {
  name: 'not-host-network-template',
  expression: `!${fieldIsTrue(['spec', 'template', 'spec', 'hostNetwork'])} && !${fieldIsTrue(['spec', 'jobTemplate', 'spec', 'template', 'spec', 'hostNetwork'])}`,
};

/**
 * Which pods the API server sends to the pod-mutating webhook, as CEL matchConditions.
 *
 * Never hostNetwork pods (NOT_HOST_NETWORK). With Underpin on eth0 of the cluster
 * network (clusterNetworkIPAM: underpin) any other pod may get a namespace or cluster
 * default pool, so every other pod is sent. With another CNI there (clusterNetworkIPAM: other) only a pod that names
 * Underpin pools or subnets, attaches Multus networks, or carries Underpin's own
 * annotations or label (so a forged binding is still replaced) can be Underpin's: the
 * API server skips the call for all others, which is the whole cost of the webhook for
 * them (measured by `npm run bench` with BENCH_CLUSTER_NETWORK_IPAM=other).
 */
export function podMatchConditions(clusterNetworkIsUnderpin: boolean): V1MatchCondition[] {
  if (clusterNetworkIsUnderpin) return [NOT_HOST_NETWORK];
  const annotationKeys = [
    "k.startsWith('ipam.spidernet.io/')",
    "k.startsWith('underpin.dev/')",
    "k == 'k8s.v1.cni.cncf.io/networks'",
    "k == 'v1.multus-cni.io/default-network'",
  ].join(' || ');
  return [
    NOT_HOST_NETWORK,
    {
      name: 'may-be-underpins',
      expression:
        `(has(object.metadata.annotations) && object.metadata.annotations.exists(k, ${annotationKeys}))` +
        ` || (has(object.metadata.labels) && '${BINDING_ID_LABEL}' in object.metadata.labels)`,
    },
  ];
}

export function webhookConfigurations(target: WebhookTarget, caBundlePem?: string, options: { clusterNetworkIsUnderpin?: boolean } = {}) {
  const podConditions = podMatchConditions(options.clusterNetworkIsUnderpin ?? true);
  const mutating: V1MutatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: MUTATING_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'underpin' } },
    webhooks: [
      {
        name: 'spider-resources.mutate.underpin.dev',
        clientConfig: clientConfig(target, SPIDER_MUTATE_PATH, caBundlePem),
        rules: [spiderRule(['CREATE', 'UPDATE']), multusConfigRule(['CREATE', 'UPDATE'])],
        reinvocationPolicy: 'Never',
        ...common(),
      },
      {
        name: POD_MUTATE_WEBHOOK,
        clientConfig: clientConfig(target, POD_MUTATE_PATH, caBundlePem),
        rules: [podRule(['CREATE'])],
        matchConditions: podConditions,
        // Another webhook may change the pod after us: look again, keep the same binding.
        reinvocationPolicy: 'IfNeeded',
        ...podSelectors(),
        ...common(),
        // Claims are created only outside dry runs.
        sideEffects: 'NoneOnDryRun',
      },
    ],
  };
  const validating: V1ValidatingWebhookConfiguration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: VALIDATING_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'underpin' } },
    webhooks: [
      {
        name: 'spider-resources.validate.underpin.dev',
        clientConfig: clientConfig(target, SPIDER_VALIDATE_PATH, caBundlePem),
        rules: [spiderRule(['CREATE', 'UPDATE', 'DELETE']), multusConfigRule(['CREATE', 'UPDATE'])],
        ...common(),
      },
      {
        // Applications get their auto pools before they are admitted (side effect:
        // pools are created or resized, never on dry runs).
        name: 'workloads.validate.underpin.dev',
        clientConfig: clientConfig(target, WORKLOAD_VALIDATE_PATH, caBundlePem),
        rules: [
          { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets', 'deployments/scale', 'replicasets/scale', 'statefulsets/scale'], scope: 'Namespaced' },
          { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
        ],
        namespaceSelector: podSelectors().namespaceSelector,
        matchConditions: [NOT_HOST_NETWORK_TEMPLATE],
        ...common(),
        sideEffects: 'NoneOnDryRun',
      },
      {
        name: 'pods.validate.underpin.dev',
        clientConfig: clientConfig(target, POD_VALIDATE_PATH, caBundlePem),
        rules: [podRule(['UPDATE'])],
        // hostNetwork is immutable: such a pod was never bound, so has no binding to guard.
        matchConditions: [NOT_HOST_NETWORK],
        ...podSelectors(),
        ...common(),
      },
    ],
  };
  return { mutating, validating };
}
