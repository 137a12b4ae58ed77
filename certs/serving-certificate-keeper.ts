// Keeps a running webhook's serving certificate current without a restart: every
// round it loads the certificates (renewing them when due, or picking up another
// replica's renewal), registers their CA bundle with the API server, and swaps the
// TLS context of the server once the API server can trust the new certificate.
//
// Order matters. A certificate of a new CA is served only after (1) the webhook
// configurations' caBundle contains that CA and (2) a few seconds have passed for the
// API server's own watch of those configurations to catch up. Until then the old
// certificate is still served; it stays trusted because the previous CA stays in
// the bundle (certificate-plan.ts).
import type { Logger } from 'pino';
import { ensureServingCertificates } from './serving-certificates.js';
import { bundleContains, type ServingCertificateOptions, type ServingCertificates } from './certificate-plan.js';
import { ensureCertificateSecret, type BundleGeneration, type SecretClient } from './certificate-secret.js';
import type { InjectionResult } from './ca-bundle-injector.js';
import { loadMountedCertificates } from './mounted-certificates.js';

export type LoadedCertificates = ServingCertificates & { generation?: BundleGeneration };

/** Where the certificates live: a directory of one host, or a Secret all replicas share. */
export interface CertificateSource {
  readonly description: string;
  load(): Promise<LoadedCertificates>;
}

export function directorySource(dir: string, options: ServingCertificateOptions): CertificateSource {
  return { description: `directory ${dir}`, load: async () => ensureServingCertificates(dir, options) };
}

export function secretSource(client: SecretClient, target: { name: string; namespace: string }, options: ServingCertificateOptions): CertificateSource {
  return { description: client.description, load: () => ensureCertificateSecret(client, target, options) };
}

/** A mounted kubernetes.io/tls Secret kept by someone else (cert-manager, Helm values): read, never generated. */
export function mountedSource(dir: string): CertificateSource {
  return { description: `mounted directory ${dir}`, load: () => loadMountedCertificates(dir) };
}

export interface KeeperOptions {
  source: CertificateSource;
  /** Registers a CA bundle in the webhook configurations; absent when that is turned off. */
  register?: (caBundlePem: string, generation: BundleGeneration | undefined) => Promise<InjectionResult>;
  /** Serve with this certificate from now on (new connections). */
  serve: (tls: { certPem: string; keyPem: string }) => void;
  log: Logger;
  intervalMs: number;
  /** How long a newly registered CA is given to reach the API server before it is relied on. */
  caPropagationMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ServingCertificateKeeper {
  private serving: LoadedCertificates | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: KeeperOptions) {}

  /** The certificate being served (after load()). */
  get current(): LoadedCertificates | undefined {
    return this.serving;
  }

  /** First load, before the server starts; a failure here is fatal and says why. */
  async load(): Promise<LoadedCertificates> {
    const loaded = await this.options.source.load();
    this.serving = loaded;
    this.options.log.info({ source: this.options.source.description, renewed: loaded.renewed, notAfter: loaded.notAfter, generation: loaded.generation?.generation }, 'serving certificate loaded');
    return loaded;
  }

  /** One round now (rounds never overlap: a caller during a round waits for it). */
  sync(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sync(), this.options.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async round(): Promise<void> {
    const { log } = this.options;
    let next: LoadedCertificates;
    try {
      next = await this.options.source.load();
    } catch (error) {
      log.warn({ err: error, source: this.options.source.description }, 'cannot load the certificates; still serving the current one, will retry');
      return;
    }
    const trusted = await this.register(next);
    const serving = this.serving;
    if (!serving || next.certPem === serving.certPem) return;
    if (!trusted) {
      log.warn({ notAfter: next.notAfter }, 'a new serving certificate waits until the webhook configurations trust its CA');
      return;
    }
    if (next.caCertPem !== serving.caCertPem) await sleep(this.options.caPropagationMs);
    this.options.serve(next);
    this.serving = next;
    log.info({ renewed: next.caCertPem !== serving.caCertPem ? 'ca' : 'serving', notAfter: next.notAfter, generation: next.generation?.generation }, 'now serving a new certificate');
  }

  /** Register the bundle; true when every registered caBundle trusts the CA of `next`. */
  private async register(next: LoadedCertificates): Promise<boolean> {
    const { register, log } = this.options;
    if (!register) return true;
    try {
      const result = await register(next.caBundlePem, next.generation);
      if (result.updated.length > 0) log.info({ updated: result.updated, generation: next.generation?.generation }, 'caBundle registered');
      if (result.missing.length > 0) log.debug({ missing: result.missing }, 'webhook configurations not found yet');
      if (result.newer.length > 0) log.debug({ newer: result.newer }, 'webhook configurations carry a newer caBundle; re-reading the certificates next round');
      return result.registered.every((bundle) => bundleContains(bundle, next.caCertPem));
    } catch (error) {
      log.warn({ err: error }, 'could not register the caBundle; will retry');
      return false;
    }
  }
}
