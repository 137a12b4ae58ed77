// Install on a real cluster, checked against the local control plane (a real
// kube-apiserver with RBAC):
//   1. `kubectl apply -k manifests/ --dry-run=server` accepts every object, then the
//      real apply installs them;
//   2. the controller's service account may make every API call the code makes, and
//      is refused what it does not need;
//   3. two replicas of the controller pod — webhook and reconciler, with exactly the
//      args and env of manifests/controller/deployment.yaml (see manifest-containers.ts),
//      authenticated as that service account — become ready, share one CA through
//      the Secret underpin-webhook-tls (one created it) and register it as caBundle;
//   4. with only those rights they do their work (ledger, claims, pool status);
//   5. a forced CA rotation reaches both webhook replicas without a restart, and at
//      no moment serves a certificate the registered caBundle does not trust.
import t from 'tap';
import { CoreV1Api, CustomObjectsApi, AdmissionregistrationV1Api, CoordinationV1Api, type V1Secret } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { kubectlOrThrow, runKubectl } from '../../hack/control-plane/kubectl.js';
import { eventually, HANG_TIMEOUT_MS, isAlive, sleep, startProcess, stopProcess, tailOf, waitUntil, type ManagedProcess } from '../../hack/processes.js';
import { repoPath } from '../../hack/repo-paths.js';
import { loadKubeConfig } from '../../kube/kube-config.js';
import { MUTATING_CONFIGURATION_NAME, VALIDATING_CONFIGURATION_NAME, WEBHOOK_SERVICE } from '../../webhook/configurations.js';
import { POD_MUTATE_PATH } from '../../webhook/pods.js';
import { SPIDER_VALIDATE_PATH } from '../../webhook/spider-resources.js';
import { GENERATION_ANNOTATION, ROTATE_CA_ANNOTATION } from '../../certs/certificate-secret.js';
import { BUNDLE_GENERATION_ANNOTATION } from '../../certs/ca-bundle-injector.js';
import { bundleContains } from '../../certs/certificate-plan.js';
import { isIssuedBy } from '../../certs/pki.js';
import { findManifest, localContainers, readManifests, type LocalContainer } from './manifest-containers.js';
import { admissionReview, podCreateRequest, spiderRequest } from '../webhook/admission-requests.js';

const NAMESPACE = 'underpin-system';
const SERVICE_ACCOUNT = 'underpin-controller';
const SECRET = 'underpin-webhook-tls';
const SERVICE_NAME = `${WEBHOOK_SERVICE.name}.${WEBHOOK_SERVICE.namespace}.svc`;

const dir = mkdtempSync(join(tmpdir(), 'underpin-install-'));
const plane = await LocalControlPlane.start({ dir: join(dir, 'plane'), controllers: false });
const processes: ManagedProcess[] = [];
t.teardown(async () => {
  await Promise.all(processes.map((p) => stopProcess(p.pid)));
  await plane.stop({ removeData: true });
});

const kubectl = (args: string[], input?: string) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args, input);
const kubectlOk = (args: string[], input?: string) => kubectlOrThrow(plane.binaries.kubectl, plane.kubeconfig, args, input);
const admin = loadKubeConfig(plane.kubeconfig);
const core = admin.makeApiClient(CoreV1Api);


t.test('kubectl apply -k manifests/ --dry-run=server accepts every object, and the real apply installs them', async (t) => {
  const rendered = parseAllDocuments(await kubectlOk(['kustomize', repoPath('manifests')])).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
  t.ok(rendered.length >= 20, `${rendered.length} objects`);
  // A dry run cannot create the namespace its other objects go into; everything else is dry.
  await kubectlOk(['apply', '-f', repoPath('manifests', 'namespace.yaml')]);
  const dry = await kubectl(['apply', '-k', repoPath('manifests'), '--dry-run=server']);
  t.equal(dry.code, 0, dry.stderr);
  for (const object of rendered) {
    const line = new RegExp(`^\\S*${object.kind.toLowerCase()}\\S*/${object.metadata.name.replace(/\./g, '\\.')} (created|configured|unchanged) \\(server dry run\\)$`, 'm');
    t.match(dry.stdout, line, `${object.kind} ${object.metadata.name} accepted`);
  }

  const real = await kubectl(['apply', '-k', repoPath('manifests')]);
  t.equal(real.code, 0, real.stderr);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=120s', 'crd', '--all']);
  const deployment = JSON.parse(await kubectlOk(['-n', NAMESPACE, 'get', 'deployment', 'underpin-controller', '-o', 'json']));
  t.equal(deployment.spec.replicas, 2);
});

// Every call the webhook and the reconciler make (grep webhook/, reconciler/, certs/
// for makeApiClient), as [verb, group, resource, namespace?, name?].
type Access = [string, string, string, string?, string?];
const NEEDED: Access[] = [
  ...['list', 'watch'].flatMap((verb): Access[] =>
    [
      ['spiderpool.spidernet.io', 'spidersubnets'],
      ['spiderpool.spidernet.io', 'spiderippools'],
      ['spiderpool.spidernet.io', 'spiderreservedips'],
      ['spiderpool.spidernet.io', 'spiderendpoints'],
      ['underpin.dev', 'ipclaims'],
      ['', 'namespaces'],
      ['', 'pods'],
      ['apps', 'statefulsets'],
      ['k8s.cni.cncf.io', 'network-attachment-definitions'],
      ['spiderpool.spidernet.io', 'spidermultusconfigs'],
    ].map(([group, resource]) => [verb, group!, resource!]),
  ),
  ['list', '', 'nodes'],
  ['create', 'spiderpool.spidernet.io', 'spiderippools'],
  ['get', 'spiderpool.spidernet.io', 'spiderippools'],
  ['update', 'spiderpool.spidernet.io', 'spiderippools'],
  ['patch', 'spiderpool.spidernet.io', 'spiderippools'],
  ['delete', 'spiderpool.spidernet.io', 'spiderippools'],
  ['patch', 'spiderpool.spidernet.io', 'spidersubnets'],
  ['patch', 'spiderpool.spidernet.io', 'spiderippools/status'],
  ['patch', 'spiderpool.spidernet.io', 'spidersubnets/status'],
  ['create', 'spiderpool.spidernet.io', 'spiderendpoints', 'default'],
  ['patch', 'spiderpool.spidernet.io', 'spiderendpoints', 'default'],
  ['delete', 'spiderpool.spidernet.io', 'spiderendpoints', 'default'],
  ['patch', 'spiderpool.spidernet.io', 'spiderendpoints/status', 'default'],
  ['list', 'spiderpool.spidernet.io', 'spidermultusconfigs', 'default'],
  ['update', 'spiderpool.spidernet.io', 'spidermultusconfigs/finalizers', 'default'],
  ['create', 'k8s.cni.cncf.io', 'network-attachment-definitions', 'default'],
  ['patch', 'k8s.cni.cncf.io', 'network-attachment-definitions', 'default'],
  ['delete', 'k8s.cni.cncf.io', 'network-attachment-definitions', 'default'],
  ['create', 'underpin.dev', 'ipclaims'],
  ['get', 'underpin.dev', 'ipclaims'],
  ['delete', 'underpin.dev', 'ipclaims'],
  ['patch', 'underpin.dev', 'ipclaims/status'],
  ['create', '', 'events', 'default'],
  ['list', '', 'pods', 'default'],
  // Adoption of a Spiderpool cluster writes the binding of the pods Spiderpool addressed
  // (the pod webhook lets only this identity change a binding).
  ['patch', '', 'pods', 'default'],
  ['get', 'apps', 'deployments', 'default'],
  ['get', 'apps', 'replicasets', 'default'],
  ['get', 'apps', 'statefulsets', 'default'],
  ['get', 'apps', 'daemonsets', 'default'],
  ['get', 'batch', 'jobs', 'default'],
  ['get', 'batch', 'cronjobs', 'default'],
  ['list', 'apps', 'replicasets', 'default'],
  ['patch', 'apps', 'replicasets', 'default'],
  ['patch', 'apps', 'statefulsets', 'default'],
  ['get', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', undefined, MUTATING_CONFIGURATION_NAME],
  ['update', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations', undefined, MUTATING_CONFIGURATION_NAME],
  ['get', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', undefined, VALIDATING_CONFIGURATION_NAME],
  ['update', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', undefined, VALIDATING_CONFIGURATION_NAME],
  ['create', 'coordination.k8s.io', 'leases', NAMESPACE],
  ['get', 'coordination.k8s.io', 'leases', NAMESPACE, 'underpin-reconciler'],
  ['update', 'coordination.k8s.io', 'leases', NAMESPACE, 'underpin-reconciler'],
  ['create', '', 'configmaps', NAMESPACE],
  ['get', '', 'configmaps', NAMESPACE, 'underpin-admission-ledger'],
  ['update', '', 'configmaps', NAMESPACE, 'underpin-admission-ledger'],
  ['create', '', 'secrets', NAMESPACE],
  ['get', '', 'secrets', NAMESPACE, SECRET],
  ['update', '', 'secrets', NAMESPACE, SECRET],
];
// What a compromised controller must still not do.
const REFUSED: Access[] = [
  ['get', '', 'secrets', 'kube-system', 'anything'],
  ['list', '', 'secrets', NAMESPACE],
  ['get', '', 'secrets', NAMESPACE, 'some-other-secret'],
  ['update', '', 'configmaps', NAMESPACE, 'underpin-config'],
  ['create', '', 'pods', 'default'],
  ['delete', '', 'pods', 'default'],
  ['update', 'apps', 'deployments', 'default'],
  ['update', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', undefined, 'someone-elses'],
  ['create', 'admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
  ['update', 'spiderpool.spidernet.io', 'spidersubnets'],
  ['update', 'spiderpool.spidernet.io', 'spidermultusconfigs', 'default'],
  ['create', 'rbac.authorization.k8s.io', 'clusterrolebindings'],
  ['update', 'coordination.k8s.io', 'leases', 'kube-system', 'kube-controller-manager'],
];

t.test("the controller's service account may make every call the code makes, and nothing more", async (t) => {
  const user = `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`;
  const reviews = [...NEEDED, ...REFUSED].map(([verb, group, resource, namespace, name]) => {
    const [plural, subresource] = resource.split('/');
    return {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: { verb, group, resource: plural, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) },
      },
    };
  });
  const output = await kubectlOk(['create', '-o', 'yaml', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: reviews }));
  const results = parseAllDocuments(output).map((d) => (d.toJS() as { status: { allowed: boolean } }).status.allowed);
  t.equal(results.length, reviews.length, 'one answer per question');
  const label = ([verb, group, resource, namespace, name]: Access) => `${verb} ${group || 'core'}/${resource}${name ? `/${name}` : ''}${namespace ? ` in ${namespace}` : ' cluster-wide'}`;
  NEEDED.forEach((access, i) => t.ok(results[i], `allowed: ${label(access)}`));
  REFUSED.forEach((access, i) => t.notOk(results[NEEDED.length + i], `refused: ${label(access)}`));
});

// The controller pods, as the Deployment runs them.
const deployment = findManifest(readManifests('manifests', 'controller', 'deployment.yaml'), 'Deployment', 'underpin-controller');
const configMap = findManifest(readManifests('manifests', 'controller', 'config.yaml'), 'ConfigMap', 'underpin-config');
interface Replica {
  podName: string;
  containers: LocalContainer[];
  processes: Map<string, ManagedProcess>;
}
const replicas: Replica[] = [];
const webhookOf = (replica: Replica) => replica.containers.find((c) => c.name === 'webhook')!;
const webhookPort = (replica: Replica) => webhookOf(replica).ports.get('webhook')!;

async function serviceAccountKubeconfig(): Promise<string> {
  // As the kubelet would mount it: a token of the Deployment's service account.
  t.equal(deployment.spec.template.spec.serviceAccountName, SERVICE_ACCOUNT);
  const token = (await kubectlOk(['-n', NAMESPACE, 'create', 'token', SERVICE_ACCOUNT, '--duration=2h'])).trim();
  const path = join(dir, 'controller.kubeconfig');
  const ca = Buffer.from(plane.pki.ca.certPem).toString('base64');
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: plane.apiserverUrl, 'certificate-authority-data': ca } }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: NAMESPACE } }],
      'current-context': 'x',
    }),
    { mode: 0o600 },
  );
  return path;
}

/** The certificate a replica serves, with the name the API server asks for. */
function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: SERVICE_NAME, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate() as PeerCertificate;
      socket.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`);
    });
    socket.on('error', reject);
  });
}

/** Does a TLS handshake succeed trusting only `caBundle`, checking the Service name (as the API server does)? */
function handshakeTrusted(port: number, caBundle: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: SERVICE_NAME, ca: caBundle }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function readSecret(): Promise<{ secret: V1Secret; ca: string; previous?: string; generation: number }> {
  const secret = await core.readNamespacedSecret({ namespace: NAMESPACE, name: SECRET });
  const pem = (key: string) => (secret.data?.[key] ? Buffer.from(secret.data[key], 'base64').toString() : undefined);
  return { secret, ca: pem('ca.crt')!, previous: pem('ca-previous.crt'), generation: Number(secret.metadata?.annotations?.[GENERATION_ANNOTATION]) };
}

async function registeredBundles(): Promise<{ bundles: string[]; generations: (string | undefined)[] }> {
  const api = admin.makeApiClient(AdmissionregistrationV1Api);
  const configs = [await api.readMutatingWebhookConfiguration({ name: MUTATING_CONFIGURATION_NAME }), await api.readValidatingWebhookConfiguration({ name: VALIDATING_CONFIGURATION_NAME })];
  return {
    bundles: configs.flatMap((c) => (c.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString())),
    generations: configs.map((c) => c.metadata?.annotations?.[BUNDLE_GENERATION_ANNOTATION]),
  };
}

/** A SpiderIPPool creation in install-test's subnet. */
const poolCreate = (name: string, ip: string, uid: string) =>
  spiderRequest('SpiderIPPool', 'CREATE', { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec: { subnet: '10.66.0.0/24', ips: [ip] } }, { uid });

function postAdmission(replica: Replica, path: string, caPem: string, body: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: webhookPort(replica), path, method: 'POST', ca: caPem, servername: SERVICE_NAME, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`${path}: ${res.statusCode} ${Buffer.concat(chunks)}`))));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

t.test('two controller pods run with the Deployment\'s args and env as its service account, become ready and share one CA', async (t) => {
  const kubeconfig = await serviceAccountKubeconfig();
  for (const podName of ['underpin-controller-test-a', 'underpin-controller-test-b']) {
    const containers = await localContainers(deployment.spec.template.spec, { podName, namespace: NAMESPACE, configMaps: { 'underpin-config': configMap.data }, workDir: dir });
    t.same(containers.map((c) => c.name), ['webhook', 'reconciler']);
    const started = new Map<string, ManagedProcess>();
    for (const container of containers) {
      const process_ = startProcess({
        name: `${podName}-${container.name}`,
        command: container.command,
        args: container.args,
        // The service account's credentials (in a pod: in-cluster config) and the hostname the pod would have.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: kubeconfig, HOSTNAME: podName, ...container.env },
        logFile: join(dir, `${podName}-${container.name}.log`),
      });
      processes.push(process_);
      started.set(container.name, process_);
    }
    replicas.push({ podName, containers, processes: started });
  }
  t.comment(`webhook args: ${webhookOf(replicas[0]!).args.slice(3).join(' ')}`);

  for (const replica of replicas) {
    for (const container of replica.containers) {
      const managed = replica.processes.get(container.name)!;
      for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
        await waitUntil(`${replica.podName}/${container.name} ${kind}`, () => container.probe(kind), { timeoutMs: HANG_TIMEOUT_MS, process: managed, intervalMs: 250 });
      }
      t.pass(`${replica.podName}/${container.name}: live and ready`);
    }
  }

  const { ca, generation, secret } = await readSecret();
  t.equal(generation, 1, 'the Secret was written once: one replica created it, the other used it');
  t.equal(secret.type, 'kubernetes.io/tls');
  for (const replica of replicas) {
    const served = await servedCertificate(webhookPort(replica));
    t.ok(isIssuedBy(served, ca), `${replica.podName} serves a certificate of the shared CA`);
    t.ok(await handshakeTrusted(webhookPort(replica), ca), `${replica.podName}: TLS with the Secret's CA and the Service name ${SERVICE_NAME}`);
  }
  const registered = await eventually('caBundle registered', async () => {
    const r = await registeredBundles();
    return r.bundles.length > 0 && r.bundles.every((b) => b === ca) ? r : undefined;
  });
  t.same(registered.generations, [`${secret.metadata!.uid}/1`, `${secret.metadata!.uid}/1`], 'both configurations record which copy of the Secret they trust');
  // An upgrade re-applies the manifests, which carry no caBundle: the registered one must survive it.
  await kubectlOk(['apply', '-k', repoPath('manifests')]);
  t.ok((await registeredBundles()).bundles.every((b) => b === ca), 'kubectl apply -k manifests/ again keeps the registered caBundle');

  const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: NAMESPACE, name: 'underpin-reconciler' });
  t.match(lease.spec?.holderIdentity ?? '', /^underpin-controller-test-[ab]$/, 'one reconciler leads, named after its pod (--identity=$(POD_NAME))');
});

t.test('with only the rights of its service account, the controller does its work', async (t) => {
  // The manifests' configurations send admission to the Service, which the local
  // control plane cannot route to: take them away while objects are created here.
  await kubectlOk(['delete', '-f', repoPath('manifests', 'webhook', 'webhook-configurations.yaml')]);
  await kubectlOk(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'spiderpool.spidernet.io/v2beta1',
    kind: 'SpiderIPPool',
    metadata: { name: 'install-test' },
    spec: { subnet: '10.66.0.0/24', ips: ['10.66.0.10-10.66.0.19'], gateway: '10.66.0.1' },
  }));
  const custom = admin.makeApiClient(CustomObjectsApi);
  const pool = { group: 'spiderpool.spidernet.io', version: 'v2beta1', plural: 'spiderippools' };
  const status = await eventually('pool status from the reconciler', async () => {
    const object = (await custom.getClusterCustomObject({ ...pool, name: 'install-test' })) as { status?: { totalIPCount?: number } };
    return object.status?.totalIPCount !== undefined ? object.status : undefined;
  });
  t.equal(status.totalIPCount, 10, 'the reconciler wrote pool status (patch spiderippools/status)');

  const { ca } = await readSecret();
  const replica = replicas[0]!;
  await eventually('webhook has the pool in its cache', async () => {
    const review = await postAdmission(replica, SPIDER_VALIDATE_PATH, ca, admissionReview(poolCreate('install-test-overlap', '10.66.0.15', `pool-${Date.now()}`)));
    return review.response.allowed === false ? review : undefined;
  });
  t.pass('the webhook refuses a pool overlapping install-test: it reads pools with the service account');
  const admitted = await postAdmission(replica, SPIDER_VALIDATE_PATH, ca, admissionReview(poolCreate('install-test-second', '10.66.0.30', 'pool-ok')));
  t.equal(admitted.response.allowed, true, JSON.stringify(admitted.response.status));
  const ledger = await core.readNamespacedConfigMap({ namespace: NAMESPACE, name: 'underpin-admission-ledger' });
  t.ok(ledger.metadata?.name, 'the webhook wrote its admission ledger (configmaps create/update)');

  const podReview = await postAdmission(
    replica,
    POD_MUTATE_PATH,
    ca,
    admissionReview(
      podCreateRequest(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'install-test-pod', namespace: 'default', annotations: { 'ipam.spidernet.io/ippool': '{"ipv4":["install-test"]}' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
        { uid: 'pod-1', name: 'install-test-pod' },
      ),
    ),
  );
  t.equal(podReview.response.allowed, true, JSON.stringify(podReview.response.status));
  const patch = JSON.parse(Buffer.from(podReview.response.patch, 'base64').toString()) as { path: string; value: unknown }[];
  const binding = JSON.stringify(patch);
  const address = /10\.66\.0\.1\d/.exec(binding)?.[0];
  t.ok(address, `the pod was given an address of install-test: ${address}`);
  const claim = await custom.getClusterCustomObject({ group: 'underpin.dev', version: 'v1alpha1', plural: 'ipclaims', name: address! });
  t.ok(claim, 'its IPClaim exists (ipclaims create)');

  for (const managed of processes) {
    const log = readFileSync(managed.logFile, 'utf8');
    t.notMatch(log, /forbidden/i, `${managed.name}: no call was forbidden`);
  }
});

t.test('a forced CA rotation reaches both webhook replicas without a restart', async (t) => {
  await kubectlOk(['apply', '-f', repoPath('manifests', 'webhook', 'webhook-configurations.yaml')]);
  const before = await readSecret();
  await eventually('caBundle registered again after the configurations were re-created', async () => (await registeredBundles()).bundles.every((b) => b === before.ca) || undefined);
  const pids = processes.map((p) => p.pid);

  // While the rotation runs, every certificate served must be trusted by the caBundle registered at that moment.
  let watching = true;
  const untrusted: string[] = [];
  let handshakes = 0;
  const watcher = (async () => {
    while (watching) {
      const { bundles } = await registeredBundles();
      const bundle = bundles[0]!;
      for (const replica of replicas) {
        handshakes++;
        if (!(await handshakeTrusted(webhookPort(replica), bundle))) untrusted.push(`${replica.podName} at ${new Date().toISOString()}`);
      }
      await sleep(100);
    }
  })();

  await kubectlOk(['-n', NAMESPACE, 'annotate', 'secret', SECRET, `${ROTATE_CA_ANNOTATION}=now`]);
  const after = await eventually('a new CA in the Secret', async () => {
    const s = await readSecret();
    return s.ca !== before.ca ? s : undefined;
  });
  t.equal(after.generation, before.generation + 1, 'one replica rotated it; the other took its copy');
  t.equal(after.previous, before.ca, 'the previous CA is kept beside the new one');
  t.notOk(after.secret.metadata?.annotations?.[ROTATE_CA_ANNOTATION], 'the request to rotate is consumed');

  for (const replica of replicas) {
    await eventually(`${replica.podName} serves a certificate of the new CA`, async () => isIssuedBy(await servedCertificate(webhookPort(replica)), after.ca));
    t.pass(`${replica.podName} serves a certificate of the new CA`);
  }
  const { bundles } = await registeredBundles();
  t.ok(bundles.every((b) => bundleContains(b, after.ca) && bundleContains(b, before.ca)), 'the caBundle trusts the new CA and, for now, the previous one');
  watching = false;
  await watcher;
  t.same(untrusted, [], `no handshake was refused by the registered caBundle (${handshakes} tried during the rotation)`);
  t.same(processes.map((p) => p.pid), pids, 'no process was restarted');
  t.ok(processes.every((p) => isAlive(p.pid)), 'all still running');
  for (const replica of replicas) t.ok(await webhookOf(replica).probe('readinessProbe'), `${replica.podName} still ready`);
  if (untrusted.length > 0) t.comment(tailOf(processes[0]!.logFile, 40));
});
