// Defaulting of a SpiderMultusConfig, as upstream's mutating webhook does it
// (pkg/multuscniconfig/multusconfig_mutate.go) plus the CRD's own defaults, so that
// `kubectl get smc -o yaml` shows what the network really is. One difference on
// purpose: the coordinator block is not filled in. Its unset fields are left to the
// SpiderCoordinator `default` (the cluster's coordinator settings); writing upstream's
// defaults into every smc would make each NetworkAttachmentDefinition override them.
import { cniTypeOf, type BondConfig, type MasterCniConfig, type SpiderMultusConfig, type SpiderpoolPools } from './spider-multus-config.js';

function pools(ippools: SpiderpoolPools | null | undefined): SpiderpoolPools {
  return { ...ippools, ipv4: ippools?.ipv4 ?? [], ipv6: ippools?.ipv6 ?? [] };
}

function bond(value: BondConfig): BondConfig {
  return { ...value, options: value.options ?? '' };
}

function masterBlock(block: MasterCniConfig): MasterCniConfig {
  return {
    ...block,
    vlanID: block.vlanID ?? 0,
    mtu: block.mtu ?? 0,
    ...(block.bond ? { bond: bond(block.bond) } : {}),
    ippools: pools(block.ippools),
  };
}

export function defaultSpiderMultusConfig(smc: SpiderMultusConfig): SpiderMultusConfig {
  const spec = { ...smc.spec };
  const cniType = cniTypeOf(spec);
  spec.cniType = cniType;
  spec.disableIPAM ??= false;
  // A custom configuration is rendered as written: no coordinator is appended to it.
  spec.enableCoordinator = cniType === 'custom' ? false : (spec.enableCoordinator ?? true);
  switch (cniType) {
    case 'macvlan':
    case 'ipvlan':
    case 'vlan': {
      // These three types' blocks are named after them.
      const block = spec[cniType];
      if (block) spec[cniType] = masterBlock(block);
      break;
    }
    case 'sriov':
      if (spec.sriov) {
        const s = spec.sriov;
        spec.sriov = { ...s, vlanID: s.vlanID ?? 0, minTxRateMbps: s.minTxRateMbps ?? 0, maxTxRateMbps: s.maxTxRateMbps ?? 0, mtu: s.mtu ?? 0, ippools: pools(s.ippools) };
      }
      break;
    case 'ovs':
      if (spec.ovs) spec.ovs = { ...spec.ovs, vlan: spec.ovs.vlan ?? 0, ippools: pools(spec.ovs.ippools) };
      break;
    case 'ib-sriov':
      if (spec.ibsriov) {
        const s = spec.ibsriov;
        spec.ibsriov = { ...s, pkey: s.pkey ?? '', linkState: s.linkState ?? 'enable', rdmaIsolation: s.rdmaIsolation ?? true, enableIbKubernetes: s.enableIbKubernetes ?? s.ibKubernetesEnabled ?? false, ippools: pools(s.ippools) };
      }
      break;
    case 'ipoib':
      if (spec.ipoib) spec.ipoib = { ...spec.ipoib, ippools: pools(spec.ipoib.ippools) };
      break;
    case 'custom':
      spec.customCNI ??= '';
      break;
  }
  return { ...smc, spec };
}
