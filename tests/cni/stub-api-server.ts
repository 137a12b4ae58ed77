// A stub Kubernetes API on 127.0.0.1 for the CNI plugins: HTTPS with a throwaway CA
// (certs/pki.ts), client-certificate or bearer-token authentication, GET of pods,
// IPClaims and SpiderCoordinators from in-memory maps. Any other method is answered
// 405 and recorded, so a test can assert that the plugins never write.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from '../../certs/pki.js';

export interface StubApi {
  url: string;
  port: number;
  dir: string;
  /** kubeconfig with a client certificate. */
  kubeconfig: string;
  /** kubeconfig with a bearer token in a tokenFile, and the CA as a file. */
  tokenKubeconfig: string;
  /** The client-certificate kubeconfig written as JSON, as the installer writes it. */
  jsonKubeconfig: string;
  pods: Map<string, unknown>;
  claims: Map<string, unknown>;
  /** SpiderCoordinators by name (the coordinator plugin reads `default`). */
  coordinators: Map<string, unknown>;
  requests: { method: string; path: string }[];
  /** Answer every request with this status (e.g. 503) while set. */
  failWith: number | undefined;
  close(): Promise<void>;
}

let pki: { ca: CertificateAndKey; server: CertificateAndKey; client: CertificateAndKey } | undefined;
function testPki() {
  if (!pki) {
    const ca = createCertificateAuthority('underpin-cni-test-ca', 1);
    pki = {
      ca,
      server: issueCertificate(ca, { commonName: 'stub-apiserver', ipAddresses: ['127.0.0.1'], usage: 'server', validityDays: 1 }),
      client: issueCertificate(ca, { commonName: 'system:node:test', organizations: ['system:nodes'], usage: 'client', validityDays: 1 }),
    };
  }
  return pki;
}

const TOKEN = 'underpin-cni-test-token';

export async function startStubApi(): Promise<StubApi> {
  const { ca, server: serving, client } = testPki();
  const dir = mkdtempSync(join(tmpdir(), 'underpin-cni-api-'));
  const pods = new Map<string, unknown>();
  const claims = new Map<string, unknown>();
  const coordinators = new Map<string, unknown>();
  const requests: { method: string; path: string }[] = [];
  const state = { failWith: undefined as number | undefined };

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false, noDelay: true }, (req, res) => {
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });
    const socket = req.socket as import('node:tls').TLSSocket;
    if (!socket.authorized && req.headers.authorization !== `Bearer ${TOKEN}`) return status(401, 'Unauthorized');
    if (state.failWith !== undefined) return status(state.failWith, 'stub failure');
    if (req.method !== 'GET') return status(405, `the CNI plugin must not ${req.method}`);
    let match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)$/.exec(path);
    if (match) {
      const pod = pods.get(`${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`);
      return pod ? send(200, pod) : status(404, `pods "${match[2]}" not found`);
    }
    match = /^\/apis\/underpin\.dev\/v1alpha1\/ipclaims\/([^/?]+)$/.exec(path);
    if (match) {
      const claim = claims.get(decodeURIComponent(match[1]!));
      return claim ? send(200, claim) : status(404, `ipclaims.underpin.dev "${match[1]}" not found`);
    }
    match = /^\/apis\/spiderpool\.spidernet\.io\/v2beta1\/spidercoordinators\/([^/?]+)$/.exec(path);
    if (match) {
      const coordinator = coordinators.get(decodeURIComponent(match[1]!));
      return coordinator ? send(200, coordinator) : status(404, `spidercoordinators.spiderpool.spidernet.io "${match[1]}" not found`);
    }
    return status(404, 'not found');
  });
  // Long enough that clients keep the connection (a 1 s hint makes Node close it after each reply).
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const kubeconfig = join(dir, 'underpin.kubeconfig');
  const certConfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'stub', cluster: { server: url, 'certificate-authority-data': b64(ca.certPem) } }],
    users: [{ name: 'node', user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) } }],
    contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'node' } }],
    'current-context': 'stub',
  };
  writeFileSync(kubeconfig, stringify(certConfig), { mode: 0o600 });
  const jsonKubeconfig = join(dir, 'underpin.json.kubeconfig');
  writeFileSync(jsonKubeconfig, JSON.stringify(certConfig), { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const tokenKubeconfig = join(dir, 'token.kubeconfig');
  writeFileSync(
    tokenKubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stub', cluster: { server: url, 'certificate-authority': 'ca.crt' } }],
      users: [{ name: 'sa', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'sa' } }],
      'current-context': 'stub',
    }),
  );

  return {
    url,
    port,
    dir,
    kubeconfig,
    tokenKubeconfig,
    jsonKubeconfig,
    pods,
    claims,
    coordinators,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(value: number | undefined) {
      state.failWith = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --- fixtures ---------------------------------------------------------------------

export interface NicFixture {
  interface: string;
  ipv4?: { address: string; gateway?: string; pool: string };
  ipv6?: { address: string; gateway?: string; pool: string };
  routes?: { dst: string; gw: string }[];
  cleanGateway?: boolean;
}

export interface PodFixture {
  namespace: string;
  name: string;
  uid: string;
  bindingID: string;
  nics: NicFixture[];
  defaultRouteInterface?: string;
}

export function podObject(pod: PodFixture, overrides: { binding?: unknown; label?: string | null } = {}): unknown {
  const binding = overrides.binding ?? {
    version: 1,
    id: pod.bindingID,
    interfaces: pod.nics.map((n) => ({ ...n, routes: n.routes ?? [] })),
    ...(pod.defaultRouteInterface ? { defaultRouteInterface: pod.defaultRouteInterface } : {}),
  };
  const labels: Record<string, string> = overrides.label === null ? {} : { 'underpin.dev/binding-id': overrides.label ?? pod.bindingID };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid, labels, annotations: { 'underpin.dev/binding': JSON.stringify(binding) } },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/app' }] },
  };
}

function claimName(address: string): string {
  const bare = address.split('/')[0]!;
  if (!bare.includes(':')) return bare;
  // The test addresses are written in RFC 5952 form already.
  let name = bare.replaceAll(':', '-');
  if (name.startsWith('-')) name = `0${name}`;
  if (name.endsWith('-')) name = `${name}0`;
  return name;
}

export function claimObjects(pod: PodFixture): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const nic of pod.nics) {
    for (const [family, bound] of [
      [4, nic.ipv4],
      [6, nic.ipv6],
    ] as const) {
      if (!bound) continue;
      const name = claimName(bound.address);
      out.push([
        name,
        {
          apiVersion: 'underpin.dev/v1alpha1',
          kind: 'IPClaim',
          metadata: { name },
          spec: { address: bound.address.split('/')[0], family, pool: bound.pool, interface: nic.interface, namespace: pod.namespace, bindingID: pod.bindingID },
        },
      ]);
    }
  }
  return out;
}

/** Puts the pod and its claims into the stub. */
export function servePod(api: StubApi, pod: PodFixture): void {
  api.pods.set(`${pod.namespace}/${pod.name}`, podObject(pod));
  for (const [name, claim] of claimObjects(pod)) api.claims.set(name, claim);
}
