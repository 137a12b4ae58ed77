// Prometheus metrics of the webhook: how many admissions it decided, which way,
// and how long its own work took. Served at /metrics on the webhook's port.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class WebhookMetrics {
  readonly registry = new Registry();

  readonly decisions = new Counter({
    name: 'underpin_admission_decisions_total',
    help: 'Admission requests decided, by route, kind, operation and outcome.',
    labelNames: ['route', 'kind', 'operation', 'allowed'] as const,
    registers: [this.registry],
  });

  readonly findings = new Counter({
    name: 'underpin_admission_findings_total',
    help: 'Why admissions were denied or warned, by kind, verdict (denied, warned) and reason (unknown-pool, pool-exhausted, replicas-exceed-pool, …).',
    labelNames: ['kind', 'verdict', 'reason'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'underpin_admission_duration_seconds',
    help: "Time the webhook spent deciding an admission (its own work and its API calls, such as creating IPClaims).",
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
