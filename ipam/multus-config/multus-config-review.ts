// The admission verdict for a SpiderMultusConfig: the schema, then every field's
// meaning (upstream's multusconfig_validate.go and coordinatormanager's checks, with
// Underpin's messages: the field, the value, the fix), then the rules against other
// objects (another smc rendering the same NAD, pools of the other family). Pure: the
// cluster comes in as a MultusConfigContext. Every problem is listed at once.
import { familyName, parseAddress, type IPFamily } from '../address.js';
import { parseCidr } from '../cidr.js';
import { problem, schemaProblems, type FieldProblem } from '../field-problem.js';
import { interfaceNameProblem } from '../multus-networks.js';
import { compilePattern, isPattern } from '../pool-name-pattern.js';
import { masterInterface, needsIfacer } from './multus-config-render.js';
import {
  BLOCK_FIELDS,
  BLOCK_OF,
  CNI_VERSIONS,
  CNI_VERSION_ANNOTATION,
  CR_NAME_ANNOTATION,
  cniTypeOf,
  networkNameOf,
  SpiderMultusConfig,
  type MasterCniConfig,
  type MultusCoordinatorSpec,
  type SpiderpoolPools,
} from './spider-multus-config.js';

export interface MultusConfigContext {
  /** The other SpiderMultusConfigs of the namespace: their names and the NAD each renders. */
  siblings: readonly { name: string; network: string }[];
  /** The family of a pool that exists, undefined for one not known. */
  poolFamily(name: string): IPFamily | undefined;
}

export type MultusConfigVerdict = { allowed: true; warnings: string[] } | { allowed: false; problems: FieldProblem[] };

export type MultusOperation = 'CREATE' | 'UPDATE' | 'DELETE';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_SUBDOMAIN_MAX = 253;
const annotationField = (key: string) => `metadata.annotations["${key}"]`;
const quote = (value: unknown) => JSON.stringify(value);

function annotationProblems(annotations: Record<string, string>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const crName = annotations[CR_NAME_ANNOTATION];
  if (crName !== undefined) {
    const field = annotationField(CR_NAME_ANNOTATION);
    if (crName === '') problems.push(problem(field, 'is empty; name the NetworkAttachmentDefinition, or remove the annotation to use the SpiderMultusConfig\'s name'));
    else if (!DNS_SUBDOMAIN.test(crName)) problems.push(problem(field, `${quote(crName)} is not a valid NetworkAttachmentDefinition name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)`));
    else if (crName.length > DNS_SUBDOMAIN_MAX) problems.push(problem(field, `${quote(crName)} is ${crName.length} characters; a NetworkAttachmentDefinition name has at most ${DNS_SUBDOMAIN_MAX}`));
  }
  const version = annotations[CNI_VERSION_ANNOTATION];
  if (version !== undefined && !(CNI_VERSIONS as readonly string[]).includes(version)) {
    problems.push(problem(annotationField(CNI_VERSION_ANNOTATION), `${quote(version)} is not a CNI version Underpin's plugins speak; use ${CNI_VERSIONS.join(', ')}`));
  }
  return problems;
}

/** Upstream: the NAD's name is fixed once created (validateCustomAnnoNameShouldNotBeChangeable). */
function renameProblems(annotations: Record<string, string>, oldAnnotations: Record<string, string>, name: string): FieldProblem[] {
  const before = oldAnnotations[CR_NAME_ANNOTATION];
  const after = annotations[CR_NAME_ANNOTATION];
  const field = annotationField(CR_NAME_ANNOTATION);
  const fix = 'delete and re-create the SpiderMultusConfig to render the network under another name';
  if (before !== undefined && after !== undefined && before !== after) return [problem(field, `cannot change from ${quote(before)} to ${quote(after)}: the NetworkAttachmentDefinition's name is fixed once created; ${fix}`)];
  if (before === undefined && after !== undefined) return [problem(field, `cannot be added (${quote(after)}): the NetworkAttachmentDefinition was created as ${quote(name)}; ${fix}`)];
  return [];
}

function vlanProblems(field: string, value: number | null | undefined, min = 0): FieldProblem[] {
  if (value == null || (value >= min && value <= 4094)) return [];
  return [problem(field, min === 0 ? `${value} is outside 0 to 4094; use 0 for untagged or a VLAN ID from 1 to 4094` : `${value} is outside 1 to 4094; set the VLAN ID the NICs are tagged with`)];
}

function nonNegative(field: string, value: number | null | undefined, fix: string): FieldProblem[] {
  return value != null && value < 0 ? [problem(field, `${value} is negative; ${fix}`)] : [];
}

function poolProblems(field: string, ippools: SpiderpoolPools | null | undefined, context: MultusConfigContext): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [key, family] of [['ipv4', 4], ['ipv6', 6]] as const) {
    (ippools?.[key] ?? []).forEach((name, i) => {
      const at = `${field}.${key}[${i}]`;
      if (name.trim() === '') return problems.push(problem(at, 'is empty; name a SpiderIPPool (or a glob of pool names, e.g. "rack1-*")'));
      if (isPattern(name)) {
        const compiled = compilePattern(name);
        if (!compiled.ok) problems.push(problem(at, `${quote(name)} is not a valid pool name pattern: ${compiled.error}`));
        return;
      }
      const actual = context.poolFamily(name);
      if (actual !== undefined && actual !== family) {
        const other = actual === 4 ? 'ipv4' : 'ipv6';
        problems.push(problem(at, `SpiderIPPool ${quote(name)} is an ${familyName(actual)} pool; list it under ${field}.${other}, or name an ${familyName(family)} pool`));
      }
    });
  }
  return problems;
}

function masterBlockProblems(field: string, cniType: 'macvlan' | 'ipvlan' | 'vlan', block: MasterCniConfig): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const masters = block.master ?? [];
  if (masters.length === 0) problems.push(problem(`${field}.master`, `is empty; name the node interface the ${cniType} NICs hang off, e.g. ["eth1"] (two or more with a bond)`));
  masters.forEach((name, i) => {
    const why = interfaceNameProblem(name);
    if (why) problems.push(problem(`${field}.master[${i}]`, `${quote(name)} ${why}; name a node interface, e.g. "eth1"`));
  });
  const seen = new Set<string>();
  masters.forEach((name, i) => {
    if (seen.has(name)) problems.push(problem(`${field}.master[${i}]`, `${quote(name)} is listed twice; list each interface once`));
    seen.add(name);
  });
  if (masters.length >= 2 && !block.bond) problems.push(problem(`${field}.bond`, `is missing: ${masters.length} master interfaces are bonded into one; add bond: {name: "bond0", mode: 1}, or list one master`));
  if (block.bond) {
    const bond = block.bond;
    if (!bond.name) problems.push(problem(`${field}.bond.name`, 'is empty; name the bond interface, e.g. "bond0"'));
    else {
      const why = interfaceNameProblem(bond.name);
      if (why) problems.push(problem(`${field}.bond.name`, `${quote(bond.name)} ${why}; name the bond interface, e.g. "bond0"`));
    }
    if (bond.mode == null) problems.push(problem(`${field}.bond.mode`, 'is missing; set the bonding mode, 0 to 6 (e.g. 1, active-backup)'));
    else if (bond.mode < 0 || bond.mode > 6) problems.push(problem(`${field}.bond.mode`, `${bond.mode} is not a bonding mode; use 0 to 6 (e.g. 1, active-backup)`));
  }
  problems.push(...vlanProblems(`${field}.vlanID`, block.vlanID, cniType === 'vlan' ? 1 : 0));
  if (cniType === 'vlan' && block.vlanID == null) problems.push(problem(`${field}.vlanID`, 'is missing; set the VLAN ID the NICs are tagged with, 1 to 4094'));
  problems.push(...nonNegative(`${field}.mtu`, block.mtu, 'use 0 (the kernel\'s choice) or the MTU, e.g. 1500'));
  // The sub-interface ifacer makes is `master.vlanID`: it must still be a Linux name.
  if (problems.length === 0 && cniType !== 'vlan' && block.vlanID) {
    const sub = masterInterface(block, true);
    const why = interfaceNameProblem(sub);
    if (why) problems.push(problem(`${field}.vlanID`, `the VLAN sub-interface would be named ${quote(sub)}, which ${why}; use a shorter master or bond name`));
  }
  return problems;
}

const MAC_PREFIX = /^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$/;

function coordinatorProblems(spec: MultusCoordinatorSpec): FieldProblem[] {
  const field = 'spec.coordinator';
  const problems: FieldProblem[] = [];
  (spec.hijackCIDR ?? []).forEach((text, i) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) problems.push(problem(`${field}.hijackCIDR[${i}]`, `${parsed.error}; write a CIDR, e.g. "169.254.0.0/16"`));
  });
  if (spec.podMACPrefix) {
    if (!MAC_PREFIX.test(spec.podMACPrefix)) problems.push(problem(`${field}.podMACPrefix`, `${quote(spec.podMACPrefix)} is not two bytes of a MAC address; write e.g. "0a:1b"`));
    else if (parseInt(spec.podMACPrefix.slice(0, 2), 16) & 1) problems.push(problem(`${field}.podMACPrefix`, `${quote(spec.podMACPrefix)} is a multicast prefix (the first byte is odd); use an even first byte, e.g. "0a:1b"`));
  }
  if (spec.podDefaultRouteNIC) {
    const why = interfaceNameProblem(spec.podDefaultRouteNIC);
    if (why) problems.push(problem(`${field}.podDefaultRouteNIC`, `${quote(spec.podDefaultRouteNIC)} ${why}; name a pod interface, e.g. "net1"`));
  }
  if (spec.hostRuleTable != null && (spec.hostRuleTable < 1 || spec.hostRuleTable > 0xfffffffe || [253, 254, 255].includes(spec.hostRuleTable))) {
    problems.push(problem(`${field}.hostRuleTable`, `${spec.hostRuleTable} is not a routing table the coordinator may use; pick 1 to 4294967294 other than 253, 254 and 255 (default 500)`));
  }
  for (const key of ['podRPFilter', 'hostRPFilter'] as const) {
    const value = spec[key];
    if (value != null && value > 2) problems.push(problem(`${field}.${key}`, `${value} is not an rp_filter value; use 0 (off), 1 (strict), 2 (loose) or a negative number (leave as is)`));
  }
  problems.push(...nonNegative(`${field}.txQueueLen`, spec.txQueueLen, 'use 0 (leave as is) or the queue length, e.g. 1000'));
  if (spec.vethLinkAddress) {
    const address = parseAddress(spec.vethLinkAddress);
    if (!address.ok || address.value.family !== 4 || !spec.vethLinkAddress.startsWith('169.254.')) {
      problems.push(problem(`${field}.vethLinkAddress`, `${quote(spec.vethLinkAddress)} is not an IPv4 link-local address; write one in 169.254.0.0/16, e.g. "169.254.100.1"`));
    }
  }
  return problems;
}

/** Why `text` cannot be a CNI plugin's configuration, or undefined. */
function pluginJsonProblem(text: string, what: 'plugin' | 'network'): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `is not valid JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  const object = value as Record<string, unknown>;
  if (what === 'network' && Array.isArray(object.plugins)) {
    const bad = object.plugins.findIndex((p) => typeof p !== 'object' || p === null || typeof (p as { type?: unknown }).type !== 'string' || (p as { type: string }).type === '');
    return bad >= 0 ? `has plugins[${bad}] without a "type"` : undefined;
  }
  if (typeof object.type !== 'string' || object.type === '') return 'has no "type"';
  return undefined;
}

function blockMismatchProblems(spec: Record<string, unknown>, cniType: string): FieldProblem[] {
  const own = cniType === 'custom' ? undefined : BLOCK_OF[cniType as keyof typeof BLOCK_OF];
  const problems: FieldProblem[] = [];
  for (const field of BLOCK_FIELDS) {
    if (field === own || spec[field] == null) continue;
    const fits = Object.entries(BLOCK_OF).find(([, f]) => f === field)![0];
    problems.push(problem(`spec.${field}`, `is set, but spec.cniType is ${quote(cniType)}; remove spec.${field}, or set spec.cniType to ${quote(fits)}`));
  }
  if (cniType !== 'custom' && spec.customCNI) problems.push(problem('spec.customCNI', `is set, but spec.cniType is ${quote(cniType)}; remove spec.customCNI, or set spec.cniType to "custom"`));
  return problems;
}

function typeBlockProblems(smc: SpiderMultusConfig, context: MultusConfigContext): FieldProblem[] {
  const spec = smc.spec;
  const cniType = cniTypeOf(spec);
  const problems = blockMismatchProblems(spec as Record<string, unknown>, cniType);
  if (cniType === 'custom') {
    if (spec.customCNI?.trim()) {
      const why = pluginJsonProblem(spec.customCNI, 'network');
      if (why) problems.push(problem('spec.customCNI', `${why}; write the whole CNI configuration as JSON, e.g. {"cniVersion": "0.3.1", "name": "net", "type": "macvlan", "master": "eth1", "ipam": {"type": "spiderpool"}}`));
    }
    return problems;
  }
  const field = `spec.${BLOCK_OF[cniType]}`;
  const block = spec[BLOCK_OF[cniType]];
  if (!block) {
    const example: Record<typeof cniType, string> = {
      macvlan: '{master: ["eth1"]}',
      ipvlan: '{master: ["eth1"]}',
      vlan: '{master: ["eth1"], vlanID: 100}',
      sriov: '{resourceName: "spidernet.io/sriov_netdevice"}',
      ovs: '{bridge: "br1"}',
      'ib-sriov': '{resourceName: "spidernet.io/mellanox_rdma"}',
      ipoib: '{master: "ib0"}',
    };
    return [...problems, problem(field, `is missing; spec.cniType ${quote(cniType)} is configured there, e.g. ${example[cniType]}`)];
  }
  switch (cniType) {
    case 'macvlan':
    case 'ipvlan':
    case 'vlan':
      problems.push(...masterBlockProblems(field, cniType, spec[cniType]!));
      break;
    case 'sriov': {
      const s = spec.sriov!;
      if (!s.resourceName) problems.push(problem(`${field}.resourceName`, 'is empty; name the SR-IOV device plugin\'s resource, e.g. "spidernet.io/sriov_netdevice"'));
      problems.push(...vlanProblems(`${field}.vlanID`, s.vlanID));
      problems.push(...nonNegative(`${field}.minTxRateMbps`, s.minTxRateMbps, 'use 0 (no limit) or a rate in Mbps'));
      problems.push(...nonNegative(`${field}.maxTxRateMbps`, s.maxTxRateMbps, 'use 0 (no limit) or a rate in Mbps'));
      problems.push(...nonNegative(`${field}.mtu`, s.mtu, 'use 0 (the kernel\'s choice) or the MTU, e.g. 9000'));
      if (s.minTxRateMbps && s.maxTxRateMbps && s.minTxRateMbps > s.maxTxRateMbps) {
        problems.push(problem(`${field}.minTxRateMbps`, `${s.minTxRateMbps} is above maxTxRateMbps ${s.maxTxRateMbps}; lower it or raise maxTxRateMbps`));
      }
      break;
    }
    case 'ovs': {
      const o = spec.ovs!;
      if (!o.bridge) problems.push(problem(`${field}.bridge`, 'is empty; name the OVS bridge on the nodes, e.g. "br1"'));
      problems.push(...vlanProblems(`${field}.vlan`, o.vlan));
      (o.trunk ?? []).forEach((t, i) => {
        const at = `${field}.trunk[${i}]`;
        problems.push(...vlanProblems(`${at}.id`, t.id), ...vlanProblems(`${at}.minID`, t.minID), ...vlanProblems(`${at}.maxID`, t.maxID));
        if (t.minID != null && t.maxID != null && t.minID > t.maxID) problems.push(problem(`${at}.minID`, `${t.minID} is above maxID ${t.maxID}; swap them`));
        if (t.id == null && t.minID == null && t.maxID == null) problems.push(problem(at, 'is empty; give id, or minID and maxID'));
      });
      break;
    }
    case 'ib-sriov':
      if (!spec.ibsriov!.resourceName) problems.push(problem(`${field}.resourceName`, 'is empty; name the InfiniBand SR-IOV device plugin\'s resource, e.g. "spidernet.io/mellanox_rdma"'));
      break;
    case 'ipoib': {
      const master = spec.ipoib!.master;
      if (!master) problems.push(problem(`${field}.master`, 'is empty; name the node\'s IPoIB interface, e.g. "ib0"'));
      else {
        const why = interfaceNameProblem(master);
        if (why) problems.push(problem(`${field}.master`, `${quote(master)} ${why}; name a node interface, e.g. "ib0"`));
      }
      break;
    }
  }
  problems.push(...poolProblems(`${field}.ippools`, (block as { ippools?: SpiderpoolPools | null }).ippools, context));
  return problems;
}

function warningsOf(smc: SpiderMultusConfig): string[] {
  const spec = smc.spec;
  const cniType = cniTypeOf(spec);
  const name = `SpiderMultusConfig ${smc.metadata.namespace}/${smc.metadata.name}`;
  const warnings: string[] = [];
  if (cniType === 'macvlan' || cniType === 'ipvlan' || cniType === 'vlan') {
    const block = spec[cniType]!;
    if (needsIfacer(block, cniType !== 'vlan')) {
      warnings.push(
        `${name}: the network starts with Spiderpool's "ifacer" plugin (it makes the ${(block.master?.length ?? 0) >= 2 ? 'bond' : 'VLAN sub-interface'} on the node), which Underpin does not install; install ifacer on the nodes, or make the interface on the nodes yourself and name it as the one master${cniType !== 'vlan' && block.vlanID ? ` (e.g. "${masterInterface(block, true)}") with vlanID 0` : ''}`,
      );
    }
  }
  const pools = cniType === 'custom' ? undefined : (spec[BLOCK_OF[cniType]] as { ippools?: SpiderpoolPools | null } | null | undefined)?.ippools;
  if (spec.disableIPAM && (pools?.ipv4?.length || pools?.ipv6?.length)) warnings.push(`${name}: spec.disableIPAM is true, so the ippools are not used; remove them, or set disableIPAM to false`);
  if (cniType === 'custom' && spec.chainCNIJsonData?.length) warnings.push(`${name}: spec.chainCNIJsonData is not used with cniType custom (customCNI is rendered as written); put the plugins into customCNI`);
  return warnings;
}

export function reviewSpiderMultusConfig(operation: MultusOperation, object: unknown, oldObject: unknown, context: MultusConfigContext): MultusConfigVerdict {
  if (operation === 'DELETE') return { allowed: true, warnings: [] };
  const parsed = SpiderMultusConfig.safeParse(object);
  if (!parsed.success) return { allowed: false, problems: schemaProblems(parsed.error.issues) };
  const smc = parsed.data;
  const annotations = smc.metadata.annotations ?? {};
  const problems = [...annotationProblems(annotations)];
  if (operation === 'UPDATE') {
    const old = SpiderMultusConfig.safeParse(oldObject);
    if (old.success) problems.push(...renameProblems(annotations, old.data.metadata.annotations ?? {}, old.data.metadata.name ?? ''));
  }
  problems.push(...typeBlockProblems(smc, context));
  if (smc.spec.coordinator) problems.push(...coordinatorProblems(smc.spec.coordinator));
  (smc.spec.chainCNIJsonData ?? []).forEach((text, i) => {
    const why = pluginJsonProblem(text, 'plugin');
    if (why) problems.push(problem(`spec.chainCNIJsonData[${i}]`, `${why}; write one plugin's configuration as JSON, e.g. {"type": "tuning", "sysctl": {"net.core.somaxconn": "4096"}}`));
  });
  const network = networkNameOf(smc);
  const clash = context.siblings.find((s) => s.name !== smc.metadata.name && s.network === network);
  if (clash) {
    const field = annotations[CR_NAME_ANNOTATION] !== undefined ? annotationField(CR_NAME_ANNOTATION) : 'metadata.name';
    problems.push(problem(field, `NetworkAttachmentDefinition ${smc.metadata.namespace}/${network} is already rendered by SpiderMultusConfig ${quote(clash.name)}; set ${annotationField(CR_NAME_ANNOTATION)} to another name`));
  }
  if (problems.length > 0) return { allowed: false, problems };
  return { allowed: true, warnings: warningsOf(smc) };
}
