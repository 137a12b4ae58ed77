// The Helm chart against the kustomize install it is generated from, rendered with the
// real helm (hack/control-plane/build-helm.sh) and kubectl kustomize: no cluster needed.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { controlPlaneBinaries, helmBinary } from '../../hack/control-plane/binaries.js';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { repoPath } from '../../hack/repo-paths.js';

const CHART = repoPath('charts', 'underpin');
const helm = helmBinary();

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function objects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** Renders the chart with --set pairs; fails the test on a render error. */
function render(t: Test, sets: string[] = [], extra: string[] = []): K8sObject[] {
  const result = run(helm, ['template', 'underpin', CHART, '-n', 'kube-system', '--include-crds', ...extra, ...sets.flatMap((set) => ['--set', set])]);
  t.equal(result.status, 0, `helm template ${sets.join(' ')}: ${result.stderr}`);
  return objects(result.stdout);
}

const key = (object: K8sObject) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;

/** The object as kubectl would compare it: the settings file parsed, Helm's own annotation dropped. */
function comparable(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  const data = copy.data as Record<string, string> | undefined;
  if (copy.kind === 'ConfigMap' && data?.['config.yaml'] !== undefined) data['config.yaml'] = parseAllDocuments(data['config.yaml'])[0]!.toJS();
  const template = (copy.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template;
  delete template?.metadata?.annotations?.['checksum/config'];
  return copy;
}

t.test('helm lint --strict is clean', async (t) => {
  const result = run(helm, ['lint', '--strict', CHART]);
  t.equal(result.status, 0, result.stdout + result.stderr);
  t.match(result.stdout, /0 chart\(s\) failed/);
});

t.test('helm template with the defaults renders the objects of kubectl kustomize manifests/', async (t) => {
  const kustomized = run(controlPlaneBinaries().kubectl, ['kustomize', repoPath('manifests')]);
  t.equal(kustomized.status, 0, kustomized.stderr);
  const expected = new Map(objects(kustomized.stdout).map((object) => [key(object), comparable(object)]));
  const rendered = new Map(render(t).map((object) => [key(object), comparable(object)]));
  t.same([...rendered.keys()].sort(), [...expected.keys()].sort(), 'the same objects');
  for (const [name, object] of expected) t.same(rendered.get(name), object, name);
});

t.test('values reach the objects', async (t) => {
  const rendered = render(t, [
    'global.imageRegistryOverride=mirror.example/underpin-images',
    'image.tag=0.2.0',
    'image.pullPolicy=Always',
    'controller.replicas=3',
    'controller.resources.webhook.limits.memory=1Gi',
    'cni.binDir=/var/lib/cni/bin',
    'cni.confDir=/var/lib/cni/net.d',
    'config.logLevel=debug',
    'config.resyncSeconds=60',
    'controller.nodeSelector.kubernetes\\.io/hostname=node-a',
    'controller.tolerations[0].operator=Exists',
    'cni.nodeSelector.kubernetes\\.io/hostname=node-a',
  ]);
  const deployment = rendered.find((object) => object.kind === 'Deployment') as unknown as {
    spec: { replicas: number; template: { spec: { nodeSelector: Record<string, string>; tolerations: unknown[]; containers: { image: string; imagePullPolicy: string; resources: { limits: { memory: string } } }[] } } };
  };
  t.equal(deployment.spec.replicas, 3);
  t.same(deployment.spec.template.spec.nodeSelector, { 'kubernetes.io/hostname': 'node-a' });
  t.same(deployment.spec.template.spec.tolerations, [{ operator: 'Exists' }]);
  for (const container of deployment.spec.template.spec.containers) {
    t.equal(container.image, 'mirror.example/underpin-images/underpin:0.2.0');
    t.equal(container.imagePullPolicy, 'Always');
  }
  t.equal(deployment.spec.template.spec.containers[0]!.resources.limits.memory, '1Gi');
  const installer = rendered.find((object) => object.kind === 'DaemonSet') as unknown as { spec: { template: { spec: { nodeSelector: Record<string, string>; volumes: { hostPath: { path: string } }[] } } } };
  t.same(installer.spec.template.spec.nodeSelector, { 'kubernetes.io/hostname': 'node-a' });
  t.same(installer.spec.template.spec.volumes.map((volume) => volume.hostPath.path), ['/var/lib/cni/bin', '/var/lib/cni/net.d']);
  const config = rendered.find((object) => object.kind === 'ConfigMap' && object.metadata.name === 'underpin-config') as unknown as { data: Record<string, string> };
  t.match(parseAllDocuments(config.data['config.yaml']!)[0]!.toJS(), { logLevel: 'debug', resyncSeconds: 60, defaultExtraAddresses: 1 });
});

t.test('metrics and dashboard options add their objects, and only then', async (t) => {
  const kinds = (objects: K8sObject[]) => objects.map((object) => object.kind);
  const plain = kinds(render(t));
  t.notOk(plain.includes('ServiceMonitor') || plain.includes('PrometheusRule'));
  const withMetrics = render(t, ['metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'grafanaDashboard.install=true']);
  t.ok(kinds(withMetrics).includes('ServiceMonitor'));
  const rule = withMetrics.find((object) => object.kind === 'PrometheusRule') as unknown as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
  t.same(rule.spec.groups[0]!.rules.map((r) => r.alert), ['UnderpinPoolNearlyFull', 'UnderpinAddressesLeaked', 'UnderpinWebhookDown']);
  const dashboard = withMetrics.find((object) => object.metadata.name === 'underpin-grafana-dashboard') as unknown as { data: Record<string, string> };
  const panels = (JSON.parse(dashboard.data['underpin.json']!) as { panels: { title: string }[] }).panels.map((panel) => panel.title);
  t.ok(panels.includes('Free addresses by pool') && panels.includes('Releases by reason'));
  // Spiderpool's keys do the same.
  const spiderpoolKeys = kinds(render(t, ['spiderpoolAgent.prometheus.serviceMonitor.install=true', 'spiderpoolAgent.prometheus.prometheusRule.install=true']));
  t.ok(spiderpoolKeys.includes('ServiceMonitor') && spiderpoolKeys.includes('PrometheusRule'));
});

t.test('certificate modes: certmanager and provided mount a Secret the webhook serves; auto is the default', async (t) => {
  const webhookArgs = (objects: K8sObject[]) => {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'underpin-controller') as unknown as { spec: { template: { spec: { containers: { name: string; args: string[] }[]; volumes: { name: string; secret?: { secretName: string } }[] } } } };
    const pod = deployment.spec.template.spec;
    return { args: pod.containers.find((c) => c.name === 'webhook')!.args, volume: pod.volumes.find((v) => v.name === 'mounted-tls') };
  };
  const configurations = (objects: K8sObject[]) => objects.filter((o) => o.kind.endsWith('WebhookConfiguration')) as unknown as { metadata: { annotations?: Record<string, string> }; webhooks: { clientConfig: { caBundle?: string } }[] }[];

  const auto = render(t);
  t.ok(webhookArgs(auto).args.includes('--cert-secret=underpin-webhook-tls'), 'auto: the controller keeps its own Secret');
  t.equal(webhookArgs(auto).volume, undefined);

  for (const sets of [['tls.method=certmanager'], ['spiderpoolController.tls.method=certmanager']]) {
    const objects = render(t, sets);
    const { args, volume } = webhookArgs(objects);
    t.same(args.filter((a) => a.startsWith('--cert') || a === '--no-inject-ca-bundle'), ['--cert-mounted-dir=/var/run/underpin/mounted-tls', '--no-inject-ca-bundle'], `${sets[0]}: the webhook serves the mounted Secret`);
    t.equal(volume?.secret?.secretName, 'underpin-webhook-mounted-tls');
    t.same(configurations(objects).map((c) => c.metadata.annotations?.['cert-manager.io/inject-ca-from']), ['underpin-system/underpin-webhook', 'underpin-system/underpin-webhook']);
    const certificate = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'underpin-webhook') as unknown as { spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string } } };
    t.same([certificate.spec.secretName, certificate.spec.dnsNames, certificate.spec.issuerRef.name], ['underpin-webhook-mounted-tls', ['underpin-webhook.underpin-system.svc', 'underpin-webhook.underpin-system.svc.cluster.local'], 'underpin-ca']);
  }
  const corp = render(t, ['tls.method=certmanager', 'tls.certmanager.issuerRef.name=corp', 'tls.certmanager.issuerRef.kind=ClusterIssuer']);
  t.same(corp.filter((o) => o.kind === 'Issuer'), [], 'an issuerRef: no self-signed CA is made');
  t.same((corp.find((o) => o.kind === 'Certificate') as unknown as { spec: { issuerRef: unknown } }).spec.issuerRef, { name: 'corp', kind: 'ClusterIssuer' });

  const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
  const provided = render(t, ['tls.method=provided', `tls.provided.cert=${pem('CERTIFICATE')}`, `tls.provided.key=${pem('PRIVATE KEY')}`, `tls.provided.ca=${pem('CERTIFICATE')}`]);
  const secret = provided.find((o) => o.kind === 'Secret' && o.metadata.name === 'underpin-webhook-mounted-tls') as unknown as { type: string; data: Record<string, string> };
  t.same([secret.type, Object.keys(secret.data).sort()], ['kubernetes.io/tls', ['ca.crt', 'tls.crt', 'tls.key']]);
  const bundles = configurations(provided).flatMap((c) => c.webhooks.map((w) => w.clientConfig.caBundle));
  t.ok(bundles.length > 0 && bundles.every((b) => b === Buffer.from(pem('CERTIFICATE')).toString('base64')), 'provided: every webhook carries the CA');
  t.equal(configurations(auto).flatMap((c) => c.webhooks).filter((w) => w.clientConfig.caBundle).length, 0, 'auto: the controller injects it');

  for (const mode of ['certmanager', 'provided']) {
    const lint = run(helm, ['lint', '--strict', CHART, '--set', `tls.method=${mode}`, ...(mode === 'provided' ? ['--set', 'tls.provided.cert=x', '--set', 'tls.provided.key=x', '--set', 'tls.provided.ca=x'] : [])]);
    t.equal(lint.status, 0, `helm lint --strict with tls.method=${mode}: ${lint.stdout}${lint.stderr}`);
  }
  const other = run(helm, ['template', 'underpin', CHART, '--set', 'tls.method=certmanager', '--set', 'config.clusterNetworkIPAM=other']);
  t.match(other.stderr, /tls\.method=certmanager with config\.clusterNetworkIPAM=other/);
});

t.test('bad values fail the render naming the key and the fix', async (t) => {
  const cases: [string, RegExp][] = [
    ['tls.method=provided', /tls\.method=provided needs tls\.provided\.cert \(PEM\)/],
    ['tls.method=nope', /\/tls\/method': value must be one of/],
    ['ipam.enableStatefulSet=false', /ipam\.enableStatefulSet=false.*set it to true/],
    ['coordinator.mode=underlay', /coordinator\.mode="underlay".*kubectl patch spidercoordinator default/],
    ['controller.replicas=0', /\/controller\/replicas': minimum/],
    ['config.logLevel=loud', /\/config\/logLevel': value must be one of/],
    ['config.unknownKey=1', /unknownKey/],
  ];
  for (const [set, message] of cases) {
    const result = run(helm, ['template', 'underpin', CHART, '--set', set]);
    t.not(result.status, 0, `${set} must fail`);
    t.match(result.stderr, message, set);
  }
});

t.test('helm install, upgrade and uninstall on the local control plane leave no orphans', async (t) => {
  const plane = await LocalControlPlane.start({ dir: mkdtempSync(join(tmpdir(), 'underpin-helm-')) });
  t.teardown(() => plane.stop({ removeData: true }));
  const kubectl = (...args: string[]) => run(controlPlaneBinaries().kubectl, ['--kubeconfig', plane.kubeconfig, ...args]);
  const helmOn = (...args: string[]) => run(helm, ['--kubeconfig', plane.kubeconfig, ...args]);
  const configOf = () => parseAllDocuments(kubectl('-n', 'underpin-system', 'get', 'configmap', 'underpin-config', '-o', 'jsonpath={.data.config\\.yaml}').stdout)[0]!.toJS() as Record<string, unknown>;

  // No node runs the pods here (the real-node test does): this checks what Helm owns.
  const installed = helmOn('install', 'underpin', CHART, '-n', 'kube-system');
  t.equal(installed.status, 0, installed.stderr);
  const release = objects(helmOn('get', 'manifest', 'underpin', '-n', 'kube-system').stdout);
  t.ok(release.length > 10, 'the release holds the chart objects');
  t.equal(kubectl('get', 'crd', 'spiderippools.spiderpool.spidernet.io').status, 0, 'CRDs installed from crds/');
  t.equal(configOf().logLevel, 'info');
  const checksum = () => kubectl('-n', 'underpin-system', 'get', 'deployment', 'underpin-controller', '-o', "jsonpath={.spec.template.metadata.annotations.checksum/config}").stdout;
  const before = checksum();

  const upgraded = helmOn('upgrade', 'underpin', CHART, '-n', 'kube-system', '--set', 'config.logLevel=debug', '--set', 'controller.replicas=1');
  t.equal(upgraded.status, 0, upgraded.stderr);
  t.equal(configOf().logLevel, 'debug', 'the changed setting is in the ConfigMap');
  t.equal(kubectl('-n', 'underpin-system', 'get', 'deployment', 'underpin-controller', '-o', 'jsonpath={.spec.replicas}').stdout, '1');
  t.not(checksum(), before, 'the pods roll to read it');

  const uninstalled = helmOn('uninstall', 'underpin', '-n', 'kube-system', '--wait');
  t.equal(uninstalled.status, 0, uninstalled.stderr);
  for (const object of release) {
    const args = ['get', `${object.kind}.${object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''), object.metadata.name, '--ignore-not-found', '-o', 'name'];
    if (object.metadata.namespace) args.push('-n', object.metadata.namespace);
    t.equal(kubectl(...args).stdout.trim(), '', `${key(object)} is gone`);
  }
  t.equal(kubectl('get', 'crd', 'spiderippools.spiderpool.spidernet.io').status, 0, 'CRDs stay, as Helm keeps crds/ by design');
});
