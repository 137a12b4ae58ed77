// Test fixture: runs the containers of a pod template from manifests/ as local
// processes, with exactly the manifest's args and env. Only what a kubelet would
// provide is substituted, and each substitution is listed here:
//
//   - the image: its entrypoint is node and its WORKDIR holds dist/; here the
//     repository root is the working directory, and `dist/X.js` runs from source
//     (`--import tsx X.ts`), so the test never runs a stale build;
//   - configMap volumes: their files are written to a temporary directory, and an
//     argument under the mountPath points into it instead;
//   - hostPath volumes: an empty temporary directory stands in for the node's;
//   - container ports: each gets a free loopback port, replaced in the args
//     (`--port=9443`, `--metrics-bind-address=:9090`) and used for the probes;
//   - env fieldRef: metadata.namespace and metadata.name of the pretend pod, and
//     status.hostIP (127.0.0.1);
//     `$(VAR)` in args is expanded from the container's env, as the kubelet does.
// Anything else a manifest might use (secrets volumes, other env sources) throws,
// so a manifest change that the test cannot honour is noticed, not skipped.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freeLoopbackPorts } from '../../hack/loopback-ports.js';
import { repoPath } from '../../hack/repo-paths.js';

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: any;
}

export function readManifests(...path: string[]): ManifestObject[] {
  const text = readFileSync(repoPath(...path), 'utf8');
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as ManifestObject | null)
    .filter((o): o is ManifestObject => o !== null && typeof o === 'object');
}

export function findManifest(objects: ManifestObject[], kind: string, name: string): ManifestObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

interface Probe {
  httpGet: { path: string; port: string | number; scheme?: 'HTTP' | 'HTTPS' };
}

export interface LocalContainer {
  name: string;
  /** mountPath → the local directory standing in for it. */
  mounts: Map<string, string>;
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Container port (by name and by number) → the local port standing in for it. */
  ports: Map<string | number, number>;
  /** GET the probe's path as the kubelet would (HTTPS without verification); true on 2xx/3xx. */
  probe(kind: 'readinessProbe' | 'livenessProbe'): Promise<boolean>;
}

export interface PodContext {
  podName: string;
  namespace: string;
  /** ConfigMaps by name: their data, as in the manifest. */
  configMaps: Record<string, Record<string, string>>;
  /** Where configMap volumes are written. */
  workDir: string;
}

/** `[node flags…] dist/webhook/main.js …` → node [node flags…] --import tsx webhook/main.ts … (see the header). */
function entryPoint(args: string[]): string[] {
  const flags = args.slice(0, Math.max(0, args.findIndex((arg) => !arg.startsWith('--'))));
  const [script, ...rest] = args.slice(flags.length);
  const match = /^dist\/(.+)\.js$/.exec(script ?? '');
  if (!match) throw new Error(`first argument after node's flags, ${script}, is not a script under dist/: the image runs node with it`);
  return [...flags, '--import', 'tsx', repoPath(`${match[1]}.ts`), ...rest];
}

function envOf(container: any, context: PodContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = String(entry.value);
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[entry.name] = context.namespace;
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[entry.name] = context.podName;
    // The pretend pod's node is this machine, reached on loopback.
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'status.hostIP') env[entry.name] = '127.0.0.1';
    else throw new Error(`container ${container.name}: env ${entry.name} uses a source this test does not provide: ${JSON.stringify(entry.valueFrom)}`);
  }
  return env;
}

function probeOnce(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { timeout: 2000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function localContainers(podSpec: any, context: PodContext): Promise<LocalContainer[]> {
  const mounts = new Map<string, string>(); // volume name → local dir
  for (const volume of podSpec.volumes ?? []) {
    const dir = join(context.workDir, context.podName, volume.name);
    mkdirSync(dir, { recursive: true });
    if (volume.configMap) {
      const data = context.configMaps[volume.configMap.name];
      if (!data) throw new Error(`volume ${volume.name}: ConfigMap ${volume.configMap.name} was not given`);
      for (const [file, content] of Object.entries(data)) writeFileSync(join(dir, file), content);
    } else if (!volume.hostPath) {
      throw new Error(`volume ${volume.name}: only configMap and hostPath volumes are supported by this test`);
    }
    mounts.set(volume.name, dir);
  }

  const containers: LocalContainer[] = [];
  for (const container of podSpec.containers) {
    const declared: { name?: string; containerPort: number }[] = container.ports ?? [];
    const free = await freeLoopbackPorts(declared.length);
    const ports = new Map<string | number, number>();
    declared.forEach((p, i) => {
      ports.set(p.containerPort, free[i]!);
      if (p.name) ports.set(p.name, free[i]!);
    });
    let args: string[] = [...(container.command ?? []), ...(container.args ?? [])];
    const mounted = new Map<string, string>();
    for (const mount of container.volumeMounts ?? []) {
      const local = mounts.get(mount.name);
      if (!local) throw new Error(`container ${container.name}: mount ${mount.name} has no volume`);
      mounted.set(mount.mountPath, local);
      args = args.map((a) => a.replace(mount.mountPath, local));
    }
    for (const p of declared) args = args.map((a) => a.replace(new RegExp(`(?<=[=:])${p.containerPort}$`), String(ports.get(p.containerPort))));
    const probe = async (kind: 'readinessProbe' | 'livenessProbe') => {
      const spec: Probe | undefined = container[kind];
      if (!spec?.httpGet) throw new Error(`container ${container.name} has no ${kind}.httpGet`);
      const port = ports.get(spec.httpGet.port);
      if (port === undefined) throw new Error(`container ${container.name}: ${kind} port ${spec.httpGet.port} is not a container port`);
      const scheme = (spec.httpGet.scheme ?? 'HTTP').toLowerCase();
      return probeOnce(`${scheme}://127.0.0.1:${port}${spec.httpGet.path}`);
    };
    const env = envOf(container, context);
    args = args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (text, name: string) => env[name] ?? text));
    containers.push({ name: container.name, mounts: mounted, command: process.execPath, args: entryPoint(args), env, ports, probe });
  }
  return containers;
}
