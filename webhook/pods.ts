// Admission routes for pods (the mutating one binds addresses, the validating one
// keeps the binding immutable) and for applications (their auto pools).
import type { FastifyInstance } from 'fastify';
import { registerAdmissionRoute } from './admission-route.js';
import type { WebhookMetrics } from './metrics.js';
import type { PodAdmission } from './pod-admission.js';
import type { WorkloadAdmission } from './workloads.js';

export const POD_MUTATE_PATH = '/mutate/pods';
export const POD_VALIDATE_PATH = '/validate/pods';
export const WORKLOAD_VALIDATE_PATH = '/validate/workloads';

export function pods(admission: PodAdmission, metrics?: WebhookMetrics) {
  return async (app: FastifyInstance): Promise<void> => {
    registerAdmissionRoute(app, POD_MUTATE_PATH, (request) => admission.mutate(request), metrics);
    registerAdmissionRoute(app, POD_VALIDATE_PATH, (request) => admission.validateUpdate(request), metrics);
  };
}

export function workloads(admission: WorkloadAdmission, metrics?: WebhookMetrics) {
  return async (app: FastifyInstance): Promise<void> => {
    registerAdmissionRoute(app, WORKLOAD_VALIDATE_PATH, (request) => admission.validate(request), metrics);
  };
}
