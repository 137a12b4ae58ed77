import t from 'tap';
import { readFileSync } from 'node:fs';
import { renderWebhookManifest, WEBHOOK_MANIFEST } from '../../../hack/dev/render-webhook-manifests.js';
import { NOT_HOST_NETWORK, NOT_HOST_NETWORK_TEMPLATE, POD_MUTATE_WEBHOOK, podMatchConditions, webhookConfigurations } from '../../../webhook/configurations.js';

t.test('manifests/webhook is generated from webhook/configurations.ts', async (t) => {
  t.equal(readFileSync(WEBHOOK_MANIFEST, 'utf8'), renderWebhookManifest(), 'stale: run `npm run manifests`');
});

t.test('URL targets get the path appended and the CA base64-encoded', async (t) => {
  const { mutating, validating } = webhookConfigurations({ url: 'https://127.0.0.1:9443/' }, 'PEM');
  t.equal(mutating.webhooks![0]!.clientConfig.url, 'https://127.0.0.1:9443/mutate/spider-resources');
  t.equal(validating.webhooks![0]!.clientConfig.url, 'https://127.0.0.1:9443/validate/spider-resources');
  t.equal(validating.webhooks![0]!.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
  t.same(validating.webhooks![0]!.rules![0]!.operations, ['CREATE', 'UPDATE', 'DELETE']);
  t.equal(mutating.webhooks![0]!.failurePolicy, 'Fail');
});

t.test('the pod webhook skips hostNetwork pods, and is narrowed further only when eth0 is another CNI\'s', async (t) => {
  const pods = (clusterNetworkIsUnderpin: boolean) => webhookConfigurations({ url: 'https://127.0.0.1:9443' }, 'PEM', { clusterNetworkIsUnderpin }).mutating.webhooks!.find((w) => w.name === POD_MUTATE_WEBHOOK)!;
  t.same(pods(true).matchConditions, [NOT_HOST_NETWORK], 'clusterNetworkIPAM: underpin sends every pod but hostNetwork ones (default pools may apply to any)');
  const [hostNetwork, condition] = pods(false).matchConditions ?? [];
  t.same(hostNetwork, NOT_HOST_NETWORK);
  t.equal(condition?.name, 'may-be-underpins');
  for (const key of ["'ipam.spidernet.io/'", "'underpin.dev/'", "'k8s.v1.cni.cncf.io/networks'", "'v1.multus-cni.io/default-network'", "'underpin.dev/binding-id' in object.metadata.labels"]) {
    t.ok(condition?.expression.includes(key), `the condition looks at ${key}`);
  }
  t.same(podMatchConditions(true), [NOT_HOST_NETWORK]);
  t.same(webhookConfigurations({ url: 'https://127.0.0.1:9443' }).mutating.webhooks!.find((w) => w.name === POD_MUTATE_WEBHOOK)!.matchConditions, [NOT_HOST_NETWORK], 'the default is underpin');
  const validatePods = webhookConfigurations({ url: 'https://127.0.0.1:9443' }).validating.webhooks!.find((w) => w.name === 'pods.validate.underpin.dev')!;
  t.same(validatePods.matchConditions, [NOT_HOST_NETWORK], 'pod updates of hostNetwork pods are not sent either');
  t.same(validatePods.namespaceSelector?.matchExpressions?.[0]?.values, ['underpin-system'], 'kube-system is judged: its DNS pods may need addresses');
});

t.test('workloads with hostNetwork pods are not sent; the condition never reads past a missing field', async (t) => {
  const workloads = webhookConfigurations({ url: 'https://127.0.0.1:9443' }).validating.webhooks!.find((w) => w.name === 'workloads.validate.underpin.dev')!;
  t.same(workloads.matchConditions, [NOT_HOST_NETWORK_TEMPLATE]);
  t.equal(
    NOT_HOST_NETWORK_TEMPLATE.expression,
    '!(has(object.spec) && has(object.spec.template) && has(object.spec.template.spec) && has(object.spec.template.spec.hostNetwork) && object.spec.template.spec.hostNetwork == true)' +
      ' && !(has(object.spec) && has(object.spec.jobTemplate) && has(object.spec.jobTemplate.spec) && has(object.spec.jobTemplate.spec.template) && has(object.spec.jobTemplate.spec.template.spec) && has(object.spec.jobTemplate.spec.template.spec.hostNetwork) && object.spec.jobTemplate.spec.template.spec.hostNetwork == true)',
  );
});

t.test('SpiderMultusConfigs (namespaced) go to the Spider* routes through a rule of their own', async (t) => {
  const { mutating, validating } = webhookConfigurations({ url: 'https://127.0.0.1:9443' });
  for (const webhook of [mutating.webhooks![0]!, validating.webhooks![0]!]) {
    const rule = webhook.rules!.find((r) => r.resources!.includes('spidermultusconfigs'));
    t.same([rule?.scope, rule?.resources, rule?.operations], ['Namespaced', ['spidermultusconfigs'], ['CREATE', 'UPDATE']], webhook.name);
    t.notOk(webhook.rules![0]!.resources!.includes('spidermultusconfigs'), 'not in the cluster-scoped rule');
  }
});
