// The network configuration the `underpin` IPAM plugin reads (API.md "CNI IPAM
// config"): the whole network config on stdin, of which Underpin reads `ipam`, `dns`
// and, for CHECK, `prevResult`.
import { z } from 'zod';
import { CniCode, CniError } from '../skel/cni-error.js';
import { DEFAULT_KUBECONFIG } from '../kube/kubeconfig.js';

export const IPAM_TYPES = ['underpin', 'spiderpool'] as const;

const PoolList = z.array(z.string().min(1), { error: 'must be a list of pool names' });

export const IpamSection = z.looseObject(
  {
  type: z.enum(IPAM_TYPES, { error: `must be "underpin" or "spiderpool"` }),
  kubeconfig: z.string().min(1, { error: 'must be the path of a kubeconfig file' }).optional(),
  default_ipv4_ippool: PoolList.optional(),
  default_ipv6_ippool: PoolList.optional(),
  clean_gateway: z.boolean({ error: 'must be true or false' }).optional(),
  log_level: z.string().optional(),
  log_file_path: z.string().optional(),
  },
  { error: (issue) => (issue.input === undefined ? 'is missing: add "ipam": {"type": "underpin"}' : 'must be an object, e.g. {"type": "underpin"}') },
);
export type IpamSection = z.infer<typeof IpamSection>;

const DNS = z.looseObject({
  nameservers: z.array(z.string()).optional(),
  domain: z.string().optional(),
  search: z.array(z.string()).optional(),
  options: z.array(z.string()).optional(),
});

export const IpamNetworkConfig = z.looseObject({
  cniVersion: z.string(),
  name: z.string().optional(),
  type: z.string().optional(),
  ipam: IpamSection,
  dns: DNS.optional(),
});
export type IpamNetworkConfig = z.infer<typeof IpamNetworkConfig> & { kubeconfigPath: string };

export function readIpamConfig(json: Record<string, unknown>): IpamNetworkConfig {
  const parsed = IpamNetworkConfig.safeParse(json);
  if (!parsed.success) {
    const name = typeof json.name === 'string' ? ` ${JSON.stringify(json.name)}` : '';
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new CniError(
      CniCode.invalidNetworkConfig,
      `network configuration${name} is invalid for the Underpin IPAM plugin: ${lines.join('; ')}`,
      'expected "ipam": {"type": "underpin" | "spiderpool", "kubeconfig"?: path, "default_ipv4_ippool"?: [..], "default_ipv6_ippool"?: [..], "clean_gateway"?: bool, "log_level"?, "log_file_path"?}',
    );
  }
  return { ...parsed.data, kubeconfigPath: parsed.data.ipam.kubeconfig ?? DEFAULT_KUBECONFIG };
}
