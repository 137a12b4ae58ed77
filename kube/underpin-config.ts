// Underpin's settings file: the `config.yaml` key of the ConfigMap
// underpin-system/underpin-config, mounted into the controller pod and read by the
// webhook and the reconciler at start-up (`--config FILE`). One schema for both
// processes, so a setting they share (defaultExtraAddresses) can never disagree.
//
// Precedence, for every setting: command-line flag > this file > built-in default.
// A key that is not here, or a value that is not valid, stops the process with a
// message naming the key and what to write instead.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Flags arrive as text, the file as YAML values: numbers are read from either, nothing else. */
const numberOrNumericText = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);

/** Lists arrive from flags as `a,b`, from the file as YAML lists: text is split at commas. */
export const commaSeparated = (value: unknown) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value);

// Kubernetes object names: namespaces are DNS labels; Secrets and Leases DNS subdomains.
export const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, "-"), at most 63 characters');
export const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase DNS name (a-z, 0-9, "-", ".")');

export const logLevel = z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` });

/** A period in seconds, more than 0 and at most a day. */
export const seconds = z.preprocess(
  numberOrNumericText,
  z
    .number({ error: 'must be a number of seconds' })
    .positive({ error: 'must be more than 0 seconds' })
    .max(86_400, { error: 'must be at most 86400 seconds (a day)' }),
);

/** `+N` of an auto pool: how many addresses beyond the replica count. */
export const extraAddresses = z.preprocess(
  numberOrNumericText,
  z
    .number({ error: 'must be a whole number of addresses' })
    .int({ error: 'must be a whole number of addresses' })
    .min(0, { error: 'must be 0 or more' })
    .max(65_536, { error: 'must be at most 65536' }),
);

/** Kubernetes user names; on the command line a comma-separated list. */
export const userNames = z.preprocess(
  commaSeparated,
  z.array(z.string({ error: 'must be a user name' }).min(1, { error: 'must not be empty' }), {
    error: 'must be a list of user names, e.g. [system:serviceaccount:underpin-system:underpin-controller]',
  }),
);

/** SpiderIPPool names (globs allowed); on the command line a comma-separated list. */
export const poolNames = z.preprocess(
  commaSeparated,
  z.array(
    z
      .string({ error: 'must be a SpiderIPPool name' })
      .regex(/^[a-z0-9*?]([-a-z0-9.*?]*[a-z0-9*?])?$/, { error: 'must be a SpiderIPPool name (lowercase a-z, 0-9, "-", "."; "*" and "?" as globs)' }),
    { error: 'must be a list of SpiderIPPool names, e.g. [default-v4-ippool]' },
  ),
);

/** A delay in seconds that may be 0, at most a day. */
export const delaySeconds = z.preprocess(
  numberOrNumericText,
  z
    .number({ error: 'must be a number of seconds' })
    .min(0, { error: 'must be 0 seconds or more' })
    .max(86_400, { error: 'must be at most 86400 seconds (a day)' }),
);

export const NODE_LOSS_RELEASE_MODES = ['not-ready', 'out-of-service'] as const;
export const nodeLossRelease = z.enum(NODE_LOSS_RELEASE_MODES, {
  error:
    'must be "not-ready" (release a terminating pod\'s addresses once its node is NotReady, gone or out-of-service) or "out-of-service" (only once the operator taints the node node.kubernetes.io/out-of-service)',
});

export const CLUSTER_NETWORK_IPAMS = ['underpin', 'other'] as const;
export const clusterNetworkIPAM = z.enum(CLUSTER_NETWORK_IPAMS, {
  error: 'must be "underpin" (macvlan/ipvlan with Underpin is the primary CNI) or "other" (eth0 is an overlay such as Calico or Cilium)',
});

export const requestBytes = z.preprocess(
  numberOrNumericText,
  z
    .number({ error: 'must be a number of bytes' })
    .int({ error: 'must be a whole number of bytes' })
    .min(64 * 1024, { error: 'must be at least 65536 bytes' }),
);

/**
 * Every key of config.yaml. Each is optional: an absent key takes the flag's
 * default. Keys are the long names of the options they set (--log-level → logLevel).
 */
export const UnderpinConfig = z.strictObject({
  /** Both processes. */
  logLevel: logLevel.optional(),
  /** Both: auto pool size when a workload has no ipam.spidernet.io/ippool-ip-number: replicas + N. */
  defaultExtraAddresses: extraAddresses.optional(),
  /**
   * Webhook: pools for pods that name none (Spiderpool's setting of the same name),
   * tried in the written order before pools with spec.default: true.
   */
  clusterDefaultIPv4IPPool: poolNames.optional(),
  clusterDefaultIPv6IPPool: poolNames.optional(),
  /**
   * Webhook: who addresses eth0 of pods on the cluster's default network (no
   * v1.multus-cni.io/default-network annotation). "other": an overlay CNI does, and
   * namespace and cluster default pools apply to Multus NICs with Underpin IPAM only.
   */
  clusterNetworkIPAM: clusterNetworkIPAM.optional(),
  /** Webhook: who may change a pod's binding after creation. */
  trustedUsers: userNames.optional(),
  /** Webhook: largest AdmissionReview accepted. */
  maxRequestBytes: requestBytes.optional(),
  /** Reconciler: a claim whose pod never appeared is released this long after admission. */
  orphanClaimTtlSeconds: seconds.optional(),
  /**
   * Reconciler: when the addresses of a stateless pod terminating on a lost node go back
   * to its pool (past its grace period): "not-ready" once the node is NotReady, gone or
   * tainted out-of-service; "out-of-service" only once it is tainted so.
   */
  nodeLossRelease: nodeLossRelease.optional(),
  /** Reconciler: how long beyond the pod's grace period node-loss release waits. */
  nodeLossReleaseDelaySeconds: delaySeconds.optional(),
  /** Reconciler: every claim, and every terminating pool and subnet, is re-checked this often. */
  resyncSeconds: seconds.optional(),
  /** Reconciler: how often every application's auto pools are re-checked (a release re-checks its application at once). */
  autoPoolIntervalSeconds: seconds.optional(),
});
export type UnderpinConfig = z.infer<typeof UnderpinConfig>;
export type UnderpinConfigKey = keyof UnderpinConfig;
export const CONFIG_KEYS = Object.keys(UnderpinConfig.shape) as UnderpinConfigKey[];

export type ConfigResult = { ok: true; config: UnderpinConfig } | { ok: false; error: string };

/** Levenshtein distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function unknownKeyMessage(key: string): string {
  const lower = key.toLowerCase();
  // A key written short (orphanClaimTTL) or with a typo (defaultExtraAddress).
  const close = (k: string) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()) || distance(lower, k.toLowerCase()) <= Math.max(2, Math.floor(key.length / 3));
  const [closest] = CONFIG_KEYS.filter(close).sort((a, b) => distance(lower, a.toLowerCase()) - distance(lower, b.toLowerCase()));
  const hint = closest ? `did you mean "${closest}"? ` : '';
  return `${key}: not a setting of Underpin; ${hint}the settings are ${CONFIG_KEYS.join(', ')}`;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Validate parsed YAML; each problem names its key, what is wrong and what to write. */
export function validateUnderpinConfig(document: unknown): ConfigResult {
  // An empty file (or one with only comments) is a file that sets nothing.
  if (document === null || document === undefined) return { ok: true, config: {} };
  if (typeof document !== 'object' || Array.isArray(document)) {
    return { ok: false, error: `must be a YAML mapping of settings (key: value), not ${Array.isArray(document) ? 'a list' : shown(document)}` };
  }
  const parsed = UnderpinConfig.safeParse(document);
  if (parsed.success) return { ok: true, config: parsed.data };
  const record = document as Record<string, unknown>;
  const problems = parsed.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map(unknownKeyMessage);
    const [key, ...rest] = issue.path.map(String);
    if (key === undefined) return [issue.message];
    const where = rest.length > 0 ? `${key}[${rest.join('][')}]` : key;
    const got = rest.length === 0 ? ` (got ${shown(record[key])})` : '';
    return [`${where}: ${issue.message}${got}`];
  });
  return { ok: false, error: problems.join('\n') };
}

/** Read and validate the settings file; errors start with the file's path. */
export function readUnderpinConfig(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ok: false, error: `config file ${path}: cannot read it (${code}); mount the ConfigMap underpin-config there, or drop --config` };
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    return { ok: false, error: `config file ${path}: not valid YAML${where}: ${(error as Error).message.split('\n')[0]}` };
  }
  const result = validateUnderpinConfig(document);
  if (result.ok) return result;
  return { ok: false, error: result.error.split('\n').map((line) => `config file ${path}: ${line}`).join('\n') };
}
