// Kubernetes client configuration for Underpin's processes.
//
// @kubernetes/client-node 1.4 builds a new https.Agent for every request, so every
// API call pays a full TLS handshake on both sides — most of the CPU an admission
// costs. This KubeConfig hands out one keep-alive agent instead (same TLS options).
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';

export class KeepAliveKubeConfig extends KubeConfig {
  private agent: unknown;

  constructor() {
    super();
    // createAgent is private in the typings but is the one place both request paths
    // (generated API clients and watches) get their agent from.
    const self = this as unknown as { createAgent(cluster: unknown, options: object): unknown };
    const build = self.createAgent.bind(this);
    self.createAgent = (cluster, options) => (this.agent ??= build(cluster, { ...options, keepAlive: true, keepAliveMsecs: 30_000 }));
  }
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** `file` if given, else in-cluster when running in a pod, else $KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(file?: string): KeepAliveKubeConfig {
  const kc = new KeepAliveKubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
