// The files a real node starts from: containerd's config, the kubelet's config and
// credentials, and the node's default CNI network. Paths are as the node sees them:
// its processes run in a mount namespace of their own where /var/lib, /var/log,
// /run, /etc/cni and /opt/cni are the node's directories (see node-init.sh).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { issueCertificate, type CertificateAndKey } from '../../certs/pki.js';
import { PAUSE_IMAGE } from '../images/base-images.js';
import { writeKubeconfig } from '../control-plane/kubeconfig.js';
import { NODE_IP, UNDERLAY_LINK } from './node-network.js';
import { defaultSpiderMultusConfig } from '../../ipam/multus-config/multus-config-defaults.js';
import { renderNetwork } from '../../ipam/multus-config/multus-config-render.js';
import { CNI_VERSION_ANNOTATION, type SpiderMultusConfig } from '../../ipam/multus-config/spider-multus-config.js';

export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** Where kubelet reaches the API server inside the node: the tunnel's node end. */
export const NODE_APISERVER_URL = 'https://127.0.0.1:6443';

export interface NodeFiles {
  containerdConfig: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletArgs: string;
  cniConflist: string;
}

/**
 * containerd 1.6's CRI for a sandbox without CAP_SYS_RESOURCE: runc cannot raise a
 * container's oom_score_adj there (`can't get final child's PID from pipe: EOF`), so
 * restrict_oom_score_adj. Images are never pulled (no registry is reachable): every
 * image the node runs is imported from a local archive.
 */
function containerdToml(): string {
  return `version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${CONTAINERD_SOCKET}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
    max_conf_num = 1
`;
}

function kubeletConfiguration(caFile: string, certFile: string, keyFile: string, cgroupRoot: string): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    tlsCertFile: certFile,
    tlsPrivateKeyFile: keyFile,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: caFile } },
    authorization: { mode: 'Webhook' },
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failSwapOn: false,
    // No resolv.conf: nothing on the node or in its pods resolves names through the
    // machine's resolver. The Service DNS would be cluster DNS, which this cluster has not.
    resolvConf: '',
    clusterDomain: 'cluster.local',
    // The node's iptables are its own namespace's; nothing for kubelet to guard.
    makeIPTablesUtilChains: false,
    // Never delete an image: none can be pulled back.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '1%', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    serializeImagePulls: false,
    enableServer: true,
    staticPodPath: '',
    // kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops and
    // restores nothing; host-changes.ts records them first and puts them back.
    protectKernelDefaults: false,
  };
}

export interface NodeIdentity {
  ca: CertificateAndKey;
  nodeName: string;
  taints: string[];
}

/** Write every file the node's processes read into `dir`; returns their paths. */
export function writeNodeFiles(dir: string, identity: NodeIdentity, cgroupRoot: string): NodeFiles {
  const { ca, nodeName, taints } = identity;
  const p = (name: string) => join(dir, name);
  // Node credentials from the local CA, as kubeadm's bootstrap would end: group
  // system:nodes, user system:node:<name>, so the Node authorizer and NodeRestriction apply.
  const client = issueCertificate(ca, { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], usage: 'client', validityDays: 365 });
  const serving = issueCertificate(ca, { commonName: nodeName, dnsNames: [nodeName], ipAddresses: [NODE_IP], usage: 'server', validityDays: 365 });
  writeFileSync(p('ca.crt'), ca.certPem);
  writeFileSync(p('kubelet.crt'), serving.certPem);
  writeFileSync(p('kubelet.key'), serving.keyPem, { mode: 0o600 });
  const files: NodeFiles = {
    containerdConfig: p('containerd.toml'),
    kubeletConfig: p('kubelet-config.yaml'),
    kubeletKubeconfig: p('kubelet.kubeconfig'),
    kubeletArgs: p('kubelet.args'),
    cniConflist: p('10-underlay.conflist'),
  };
  writeKubeconfig(files.kubeletKubeconfig, NODE_APISERVER_URL, ca.certPem, client, `system:node:${nodeName}`);
  writeFileSync(files.containerdConfig, containerdToml());
  writeFileSync(files.kubeletConfig, stringify(kubeletConfiguration(p('ca.crt'), p('kubelet.crt'), p('kubelet.key'), cgroupRoot)));
  writeFileSync(
    files.kubeletArgs,
    [`--config=${files.kubeletConfig}`, `--kubeconfig=${files.kubeletKubeconfig}`, `--hostname-override=${nodeName}`, `--node-ip=${NODE_IP}`, ...(taints.length > 0 ? [`--register-with-taints=${taints.join(',')}`] : []), '--v=1'].join('\n') + '\n',
  );
  writeFileSync(files.cniConflist, JSON.stringify(defaultNetwork(), null, 2) + '\n');
  return files;
}

/**
 * The SpiderMultusConfig a platform team writes for the node's underlay: macvlan on
 * the node's underlay link, Underpin's IPAM (the addresses the webhook bound), then
 * the coordinator. The real-node test applies it and checks that the
 * NetworkAttachmentDefinition the reconciler renders is the node's default network.
 */
export const REAL_NODE_NETWORK: SpiderMultusConfig = {
  apiVersion: 'spiderpool.spidernet.io/v2beta1',
  kind: 'SpiderMultusConfig',
  metadata: { name: 'underlay', namespace: 'default', annotations: { [CNI_VERSION_ANNOTATION]: '1.0.0' } },
  spec: { cniType: 'macvlan', macvlan: { master: [UNDERLAY_LINK] }, coordinator: { mode: 'auto', tunePodRoutes: true } },
};

/**
 * The node's default network: what Underpin renders for REAL_NODE_NETWORK. Written
 * before containerd starts (containerd 1.6 does not reload a conflist moved in later);
 * the plugins themselves arrive with Underpin's CNI installer DaemonSet.
 */
export function defaultNetwork(): Record<string, unknown> {
  const { config } = renderNetwork(defaultSpiderMultusConfig(REAL_NODE_NETWORK));
  return JSON.parse(config!) as Record<string, unknown>;
}
