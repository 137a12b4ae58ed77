// The webhook's HTTPS server: health endpoints plus one plugin per route family.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import type { PodAdmission } from './pod-admission.js';
import { pods, workloads } from './pods.js';
import type { WorkloadAdmission } from './workloads.js';
import type { WebhookMetrics } from './metrics.js';
import { spiderResources, type UnderlayAdmissionState } from './spider-resources.js';
import type { MultusConfigAdmissionState } from './multus-configs.js';

export interface WebhookServerOptions {
  tls: { certPem: string; keyPem: string };
  /** Largest AdmissionReview accepted; bigger bodies get 413 before any parsing. */
  maxRequestBytes: number;
  /** A pino logger; none means no request logging (unit tests). */
  logger?: FastifyBaseLogger;
  /** What the Spider* handlers know of the cluster. */
  underlay: UnderlayAdmissionState;
  /** Pod admission; absent in tests that only exercise the Spider* routes. */
  podAdmission?: PodAdmission;
  workloadAdmission?: WorkloadAdmission;
  /** Are all the caches admission reads loaded? (default: the underlay's) */
  isReady?: () => boolean;
  /** What SpiderMultusConfig admission reads of the cluster; absent: judged alone. */
  multusConfigs?: MultusConfigAdmissionState;
  /** Admission metrics, served at /metrics (none in tests that do not look). */
  metrics?: WebhookMetrics;
}

export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export function buildWebhookServer(options: WebhookServerOptions): FastifyInstance {
  const app = Fastify({
    https: { cert: options.tls.certPem, key: options.tls.keyPem, minVersion: 'TLSv1.2' },
    bodyLimit: options.maxRequestBytes,
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // The API server sets its own timeout (10 s by default); answer before it gives up.
    connectionTimeout: 15_000,
    return503OnClosing: true,
    // Two log lines per admission cost more than the admission itself; decisions are logged at debug.
    logController: new LogController({ disableRequestLogging: true }),
  });

  // Errors from parsing (bad JSON, oversize body, wrong content type) keep fastify's
  // status code but always carry a message the caller can act on.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than ${options.maxRequestBytes} bytes; AdmissionReviews of Underpin's resources are far smaller`;
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `unsupported content-type "${req.headers['content-type'] ?? ''}": send an AdmissionReview as application/json`;
    }
    return reply.code(status).send({ error: status >= 500 ? 'Internal Server Error' : 'Bad Request', code: error.code, message });
  });

  // The API server only sends JSON; anything else is refused with 415 before parsing.
  app.removeContentTypeParser('text/plain');

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    // Not ready until the caches are loaded: admission before that would judge blind.
    const ready = options.isReady ?? (() => options.underlay.hasSynced);
    if (!ready()) return reply.code(503).send({ status: 'loading cluster state' });
    return { status: 'ready' };
  });
  const metrics = options.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  }
  app.register(spiderResources(options.underlay, metrics, options.multusConfigs));
  if (options.podAdmission) app.register(pods(options.podAdmission, metrics));
  if (options.workloadAdmission) app.register(workloads(options.workloadAdmission, metrics));
  return app;
}

/** Swap the serving certificate of a running server (rotation) without dropping connections. */
export function replaceServingCertificate(app: FastifyInstance, tls: { certPem: string; keyPem: string }): void {
  const context: SecureContextOptions = { cert: tls.certPem, key: tls.keyPem };
  (app.server as unknown as { setSecureContext(o: SecureContextOptions): void }).setSecureContext(context);
}
