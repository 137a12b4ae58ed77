// The LeaseStore of leader-election.ts backed by a coordination.k8s.io/v1 Lease.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { z } from 'zod';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './leader-election.js';
import { apiStatus } from '../kube/api-status.js';

// Timestamps arrive as RFC 3339 text (the client does not revive MicroTime); an
// unreadable one is dropped: expiry is judged by the candidate's own clock anyway.
const Timestamp = z
  .union([z.string(), z.date()])
  .transform((value) => new Date(value))
  .refine((date) => !Number.isNaN(date.getTime()))
  .optional()
  .catch(undefined);

const LeaseObject = z.looseObject({
  metadata: z.looseObject({ resourceVersion: z.string().min(1) }),
  spec: z
    .looseObject({
      holderIdentity: z.string().optional().catch(undefined),
      leaseDurationSeconds: z.number().int().positive().optional().catch(undefined),
      acquireTime: Timestamp,
      renewTime: Timestamp,
      leaseTransitions: z.number().int().nonnegative().optional().catch(undefined),
    })
    .optional(),
});


function toSpec(record: LeaseRecord): NonNullable<V1Lease['spec']> {
  const micro = (date: Date | undefined) => (date ? new V1MicroTime(date.getTime()) : undefined);
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: micro(record.acquireTime),
    renewTime: micro(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

export class ApiLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly api: CoordinationV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.description = `Lease ${namespace}/${name}`;
  }

  private parse(raw: unknown): StoredLease {
    const parsed = LeaseObject.safeParse(raw);
    if (!parsed.success) throw new Error(`${this.description} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const spec = parsed.data.spec ?? {};
    const record: LeaseRecord = {};
    if (spec.holderIdentity !== undefined) record.holderIdentity = spec.holderIdentity;
    if (spec.leaseDurationSeconds !== undefined) record.leaseDurationSeconds = spec.leaseDurationSeconds;
    if (spec.acquireTime !== undefined) record.acquireTime = spec.acquireTime;
    if (spec.renewTime !== undefined) record.renewTime = spec.renewTime;
    if (spec.leaseTransitions !== undefined) record.leaseTransitions = spec.leaseTransitions;
    return { record, resourceVersion: parsed.data.metadata.resourceVersion };
  }

  async get(): Promise<StoredLease | undefined> {
    try {
      return this.parse(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace },
      spec: toSpec(record),
    };
    try {
      return this.parse(await this.api.createNamespacedLease({ namespace: this.namespace, body }));
    } catch (error) {
      if (apiStatus(error) === 409) throw new LeaseConflict(`${this.description} was created by another replica`);
      // Creating in a namespace that does not exist is a 404 on the namespace.
      if (apiStatus(error) === 404) {
        throw new Error(
          `cannot create ${this.description}: namespace "${this.namespace}" does not exist; create it (kubectl create namespace ${this.namespace}) or pass --namespace`,
        );
      }
      throw error;
    }
  }

  async update(record: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion },
      spec: toSpec(record),
    };
    try {
      return this.parse(await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }));
    } catch (error) {
      if (apiStatus(error) === 409 || apiStatus(error) === 404) throw new LeaseConflict(`${this.description} changed since it was read`);
      throw error;
    }
  }
}
