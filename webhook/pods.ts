// Admission routes for pods (the mutating one binds addresses, the validating one
// keeps the binding immutable) and for applications (their auto pools).
import type { FastifyInstance } from 'fastify';
import { registerAdmissionRoute } from './admission-route.js';
import type { PodAdmission } from './pod-admission.js';
import type { WorkloadAdmission } from './workloads.js';

export const POD_MUTATE_PATH = '/mutate/pods';
export const POD_VALIDATE_PATH = '/validate/pods';
export const WORKLOAD_VALIDATE_PATH = '/validate/workloads';

export function pods(admission: PodAdmission) {
  return async (app: FastifyInstance): Promise<void> => {
    registerAdmissionRoute(app, POD_MUTATE_PATH, (request) => admission.mutate(request));
    registerAdmissionRoute(app, POD_VALIDATE_PATH, (request) => admission.validateUpdate(request));
  };
}

export function workloads(admission: WorkloadAdmission) {
  return async (app: FastifyInstance): Promise<void> => {
    registerAdmissionRoute(app, WORKLOAD_VALIDATE_PATH, (request) => admission.validate(request));
  };
}
