// The records the underlay caches keep, one schema per resource for webhook and
// reconciler alike: the domain's schema of each Spider* object (ipam/), plus the
// status the reconciler keeps and the metadata both read.
import { z } from 'zod';
import { ObjectMeta } from '../ipam/object-meta.js';
import { SpiderIPPool } from '../ipam/spider-ippool.js';
import { SpiderReservedIP } from '../ipam/spider-reserved-ip.js';
import { SpiderSubnet } from '../ipam/spider-subnet.js';

const RecordMeta = ObjectMeta.extend({ name: z.string().min(1), creationTimestamp: z.string().nullish() });

const counts = { allocatedIPCount: z.number().nullish(), totalIPCount: z.number().nullish() };

export const PoolRecord = SpiderIPPool.extend({
  metadata: RecordMeta,
  status: z.looseObject({ ...counts, allocatedIPs: z.string().nullish() }).nullish(),
});
export type PoolRecord = z.infer<typeof PoolRecord>;

export const SubnetRecord = SpiderSubnet.extend({
  metadata: RecordMeta,
  status: z.looseObject({ ...counts, controlledIPPools: z.string().nullish() }).nullish(),
});
export type SubnetRecord = z.infer<typeof SubnetRecord>;

export const ReservedIPRecord = SpiderReservedIP.extend({ metadata: RecordMeta });
export type ReservedIPRecord = z.infer<typeof ReservedIPRecord>;
