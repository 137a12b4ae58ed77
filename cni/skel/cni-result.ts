// CNI results (spec "Success" output) in the three versions Underpin speaks, and the
// prevResult a chained plugin receives. Internally a result is version-free; it is
// written out for the version the network configuration asks for.
import { z } from 'zod';
import { CniCode, CniError } from './cni-error.js';
import { ipsCarryVersion, type CniVersion } from './cni-versions.js';

export interface ResultIP {
  /** Address with prefix length, e.g. 10.6.0.5/16. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; IPAM plugins leave it out, the main plugin sets it. */
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

export interface ResultInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface ResultDNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  interfaces?: ResultInterface[];
  ips: ResultIP[];
  routes: ResultRoute[];
  dns?: ResultDNS;
}

/** The result's JSON for one version (without cniVersion, which the skel adds). */
export function formatResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const withVersion = ipsCarryVersion(version);
  const ips = result.ips.map((ip) => ({
    ...(withVersion ? { version: ip.address.includes(':') ? '6' : '4' } : {}),
    address: ip.address,
    ...(ip.gateway === undefined ? {} : { gateway: ip.gateway }),
    ...(ip.interface === undefined ? {} : { interface: ip.interface }),
  }));
  return {
    ...(result.interfaces === undefined ? {} : { interfaces: result.interfaces }),
    ips,
    routes: result.routes,
    ...(result.dns === undefined ? {} : { dns: result.dns }),
  };
}

const PrevResultSchema = z.looseObject({
  interfaces: z.array(z.looseObject({ name: z.string(), mac: z.string().optional(), sandbox: z.string().optional() })).nullish(),
  ips: z
    .array(
      z.looseObject({
        version: z.string().optional(),
        address: z.string(),
        gateway: z.string().optional(),
        interface: z.number().int().nullish(),
      }),
    )
    .nullish(),
  routes: z.array(z.looseObject({ dst: z.string(), gw: z.string().optional() })).nullish(),
  dns: z.looseObject({}).nullish(),
});

/** Reads `prevResult` of a network configuration, any of the supported versions. */
export function readPrevResult(config: Record<string, unknown>, who: string): CniResult | undefined {
  const raw = config.prevResult;
  if (raw === undefined || raw === null) return undefined;
  const parsed = PrevResultSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CniError(
      CniCode.decodingFailure,
      `${who}: prevResult is not a CNI result (${issue ? `${issue.path.join('.') || 'prevResult'}: ${issue.message}` : 'unreadable'})`,
    );
  }
  const value = parsed.data;
  return {
    ...(value.interfaces ? { interfaces: value.interfaces.map((i) => ({ name: i.name, ...(i.mac ? { mac: i.mac } : {}), ...(i.sandbox ? { sandbox: i.sandbox } : {}) })) } : {}),
    ips: (value.ips ?? []).map((ip) => ({
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
      ...(ip.interface === undefined || ip.interface === null ? {} : { interface: ip.interface }),
    })),
    routes: (value.routes ?? []).map((r) => ({ dst: r.dst, ...(r.gw ? { gw: r.gw } : {}) })),
    ...(value.dns ? { dns: value.dns as ResultDNS } : {}),
  };
}
