// SpiderSubnet (spiderpool.spidernet.io/v2beta1): an underlay network and the
// addresses of it that applications' auto pools may take.
import { z } from 'zod';
import { ObjectMeta } from './object-meta.js';
import { UnderlayFields } from './underlay-block.js';

export const SpiderSubnetSpec = z.looseObject(UnderlayFields);
export type SpiderSubnetSpec = z.infer<typeof SpiderSubnetSpec>;

export const SpiderSubnet = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal('SpiderSubnet'),
  metadata: ObjectMeta,
  spec: SpiderSubnetSpec,
});
export type SpiderSubnet = z.infer<typeof SpiderSubnet>;
