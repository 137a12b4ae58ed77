// Turns an admission handler into a fastify route: validate the AdmissionReview at
// the edge, call the handler with a typed request, answer with its decision.
import type { FastifyInstance, FastifyBaseLogger } from 'fastify';
import type { WebhookMetrics } from './metrics.js';
import {
  AdmissionReview,
  admissionResponse,
  describeIssues,
  deny,
  MAX_OBJECT_DEPTH,
  nestedDeeperThan,
  type AdmissionDecision,
  type AdmissionRequest,
} from './admission-review.js';

export type AdmissionHandler = (request: AdmissionRequest, log: FastifyBaseLogger) => AdmissionDecision | Promise<AdmissionDecision>;

export function registerAdmissionRoute(app: FastifyInstance, path: string, handler: AdmissionHandler, metrics?: WebhookMetrics): void {
  app.post(path, async (req, reply) => {
    const parsed = AdmissionReview.safeParse(req.body);
    if (!parsed.success) {
      return reply.code(400).send({ error: 'Bad Request', message: `not a valid AdmissionReview:\n${describeIssues(parsed.error)}` });
    }
    const review = parsed.data;
    if (nestedDeeperThan(review.request.object, MAX_OBJECT_DEPTH) || nestedDeeperThan(review.request.oldObject, MAX_OBJECT_DEPTH)) {
      return reply.code(400).send({ error: 'Bad Request', message: `request.object nests deeper than ${MAX_OBJECT_DEPTH} levels; no Kubernetes object Underpin judges does` });
    }
    let decision: AdmissionDecision;
    const stopTimer = metrics?.duration.startTimer({ route: path });
    try {
      decision = await handler(review.request, req.log);
    } catch (error) {
      // A bug must not take the server down nor admit an unchecked object.
      req.log.error({ err: error, uid: review.request.uid }, 'admission handler failed');
      decision = deny(`underpin webhook internal error: ${(error as Error).message}; see the webhook log`, 500, 'InternalError');
    }
    stopTimer?.();
    metrics?.decisions.inc({ route: path, kind: review.request.kind.kind, operation: review.request.operation, allowed: String(decision.allowed) });
    for (const finding of decision.findings ?? []) metrics?.findings.inc({ kind: review.request.kind.kind, ...finding });
    req.log.debug({ uid: review.request.uid, kind: review.request.kind.kind, allowed: decision.allowed }, 'admission decision');
    return admissionResponse(review.request.uid, decision);
  });
}
