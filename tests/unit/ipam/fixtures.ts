// Addresses and pools as pod admission sees them, for unit tests.
import { parseAddress, type Address } from '../../../ipam/address.js';
import type { PoolView } from '../../../ipam/pool-candidates.js';
import { SpiderIPPool } from '../../../ipam/spider-ippool.js';
import { readUnderlayBlock } from '../../../ipam/underlay-block.js';

export function address(text: string): Address {
  const parsed = parseAddress(text);
  if (!parsed.ok) throw new Error(`fixture address ${text}: ${parsed.error}`);
  return parsed.value;
}

export function poolView(name: string, spec: object, labels: Record<string, string> = {}): PoolView {
  const pool = SpiderIPPool.parse({ apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name }, spec });
  const block = readUnderlayBlock(pool.spec).block;
  if (!block) throw new Error(`fixture pool ${name} does not read`);
  return { name, spec: pool.spec, block, deleting: false, labels };
}
