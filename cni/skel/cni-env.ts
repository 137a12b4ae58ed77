// The CNI_* environment a runtime sets for each plugin call (CNI spec, "Parameters").
import { CniCode, CniError } from './cni-error.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniEnvironment {
  command: CniCommand;
  containerID: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs, e.g. K8S_POD_NAMESPACE. */
  args: Map<string, string>;
  path: string;
}

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION'];

/** Which variables each command needs (as the reference plugins' skel requires them). */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  VERSION: [],
};

export function readCommand(env: NodeJS.ProcessEnv): CniCommand {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command)) {
    throw new CniError(
      CniCode.invalidEnvironment,
      command === ''
        ? 'CNI_COMMAND is not set: this is a CNI plugin, run by the container runtime with CNI_COMMAND=ADD|DEL|CHECK|VERSION'
        : `CNI_COMMAND=${JSON.stringify(command)} is not supported; expected ADD, DEL, CHECK or VERSION`,
    );
  }
  return command as CniCommand;
}

export function readEnvironment(env: NodeJS.ProcessEnv, command: CniCommand): CniEnvironment {
  const missing = REQUIRED[command].filter((name) => (env[name] ?? '') === '');
  if (missing.length > 0) {
    throw new CniError(CniCode.invalidEnvironment, `required environment variables missing for ${command}: ${missing.join(', ')}`);
  }
  return {
    command,
    containerID: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: env.CNI_PATH ?? '',
  };
}

/** `K1=V1;K2=V2` → map. A pair without `=` is refused, as the reference plugins refuse it. */
export function parseCniArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.invalidEnvironment, `CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

export interface PodReference {
  namespace: string;
  name: string;
  uid: string | undefined;
}

/** The pod Kubernetes passes in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_UID). */
export function podReference(args: Map<string, string>, requireUID: boolean): PodReference {
  const keys = ['K8S_POD_NAMESPACE', 'K8S_POD_NAME', ...(requireUID ? ['K8S_POD_UID'] : [])];
  const missing = keys.filter((key) => (args.get(key) ?? '') === '');
  if (missing.length > 0) {
    throw new CniError(
      CniCode.invalidEnvironment,
      `CNI_ARGS lacks ${missing.join(', ')}: Underpin finds the pod's addresses by namespace, name and UID, which the kubelet passes; ` +
        'run this plugin from a Kubernetes runtime (containerd/CRI-O, through Multus for extra NICs)',
    );
  }
  return { namespace: args.get('K8S_POD_NAMESPACE')!, name: args.get('K8S_POD_NAME')!, uid: args.get('K8S_POD_UID') || undefined };
}
