import t from 'tap';
import { readFileSync } from 'node:fs';
import { renderWebhookManifest, WEBHOOK_MANIFEST } from '../../../hack/render-webhook-manifests.js';
import { webhookConfigurations } from '../../../webhook/configurations.js';

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
