// Whereabouts as its DaemonSet runs it, for the benchmarks that compare against it: its
// CRDs, its ServiceAccount bound to upstream's ClusterRole, a kubeconfig with that
// account's token, and the flat file the plugin requires. All files live in `home`:
// configuration_path names an existing file, so none of its default paths under
// /etc/cni/net.d, /etc/kubernetes/cni/net.d and /host is looked at; no log_file, so it
// logs only to stderr.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { WhereaboutsBuild } from '../../hack/control-plane/binaries.js';
import type { LocalControlPlane } from '../../hack/control-plane/control-plane.js';

export interface WhereaboutsIdentity {
  kubeconfig: string;
  /** For the IPAM config's configuration_path. */
  flatFile: string;
}

export async function setUpWhereabouts(
  plane: LocalControlPlane,
  kubectl: (args: string[], input?: string) => Promise<string>,
  peer: WhereaboutsBuild,
  home: string,
): Promise<WhereaboutsIdentity> {
  mkdirSync(home, { recursive: true });
  await kubectl(['apply', '-f', peer.crdsDir]);
  await kubectl(['wait', '--for=create', 'crd/ippools.whereabouts.cni.cncf.io', '--timeout=30s']);
  await kubectl(['apply', '-f', '-'], readFileSync(peer.rbac, 'utf8'));
  await kubectl(['create', 'serviceaccount', 'whereabouts', '-n', 'kube-system']);
  await kubectl(['create', 'clusterrolebinding', 'whereabouts', '--clusterrole=whereabouts-cni', '--serviceaccount=kube-system:whereabouts']);
  const token = (await kubectl(['create', 'token', 'whereabouts', '-n', 'kube-system', '--duration=12h'])).trim();
  const kubeconfig = join(home, 'whereabouts.kubeconfig');
  const ca = Buffer.from(plane.pki.ca.certPem).toString('base64');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: plane.apiserverUrl, 'certificate-authority-data': ca } }],
      users: [{ name: 'whereabouts', user: { token } }],
      // The namespace of its Lease, IPPools and OverlappingRangeIPReservations (kube-system, also its default).
      contexts: [{ name: 'whereabouts', context: { cluster: 'local', user: 'whereabouts', namespace: 'kube-system' } }],
      'current-context': 'whereabouts',
    }),
    { mode: 0o600 },
  );
  const flatFile = join(home, 'whereabouts.conf');
  writeFileSync(flatFile, JSON.stringify({ datastore: 'kubernetes', kubernetes: { kubeconfig }, log_level: 'error' }));
  return { kubeconfig, flatFile };
}
