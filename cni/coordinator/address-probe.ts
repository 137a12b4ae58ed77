// What ADD checks on the pod's link before it succeeds, when the configuration asks
// (probe-settings.ts), and the MAC it gives the NIC; in this order, as Spiderpool
// orders them (its issue 4475):
//   1. detectIPConflict — nobody else answers for the NIC's addresses. IPv4: ARP
//      probes from 0.0.0.0 (`arping -D`, RFC 5227), which teach no neighbour a
//      mapping. IPv6: the kernel's own duplicate address detection (RFC 4862) has run
//      on the address since the main plugin added it: ADD waits while it is
//      `tentative` and fails on `dadfailed`; then neighbour solicitations
//      (`ndisc6`) catch a holder when the pod's DAD is off (accept_dad=0).
//   2. podMACPrefix — the NIC gets its fixed MAC, after the conflict check, so an
//      address found in use never had its MAC announced.
//   3. detectGateway — each gateway of the NIC answers an ARP request (from the
//      NIC's address, so the gateway learns the final MAC) or a neighbour
//      solicitation.
// A failure fails ADD with nothing changed: a MAC already set is put back.
import { CniCode, CniError } from '../skel/cni-error.js';
import { currentMac, macFor, macSourceAddress, setMac } from './mac-prefix.js';
import type { NetnsIp } from './netns-ip.js';
import { probeAttempts, requireTool, runInNetns, type RunningTool, type ToolRun } from './neighbour-tools.js';
import type { ProbeSettings, ProbeTiming } from './probe-settings.js';
import type { Family } from './route-plan.js';

export interface NicFacts {
  netns: string;
  ifname: string;
  addresses: Record<Family, string[]>;
  gateways: Partial<Record<Family, string>>;
}

export interface Prepared {
  /** The MAC podMACPrefix gave the NIC, for the result's `interfaces[].mac`. */
  mac?: string;
  /** Puts back what preparing changed (the MAC), when a later step of ADD fails. */
  undo(): Promise<void>;
  /** What each check took, for the log. */
  ms: Record<string, number>;
}

/** How long ADD waits for the kernel's duplicate address detection on an IPv6 address (default 1–2 s). */
export const DAD_WAIT_MS = 5000;

export async function prepareNic(ip: NetnsIp, nic: NicFacts, settings: ProbeSettings): Promise<Prepared> {
  const ms: Record<string, number> = {};
  const nothing = async () => {};
  const wants6 = nic.addresses[6].length > 0 && (settings.detectIPConflict || (settings.detectGateway && nic.gateways[6] !== undefined));
  const wants4Conflict = settings.detectIPConflict && nic.addresses[4].length > 0;
  const wants4Gateway = settings.detectGateway && nic.addresses[4].length > 0 && nic.gateways[4] !== undefined;
  // Missing tools are said before anything is sent.
  const arping = wants4Conflict || wants4Gateway ? requireTool('arping', wants4Conflict ? 'detectIPConflict' : 'detectGateway') : '';
  const ndisc6 = wants6 ? requireTool('ndisc6', settings.detectIPConflict ? 'detectIPConflict' : 'detectGateway') : '';
  if (!settings.detectIPConflict && !settings.detectGateway && settings.macPrefix === undefined) return { undo: nothing, ms };

  const ownMac = await currentMac(ip, nic.ifname);
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      ms[name] = Date.now() - started;
    }
  };
  const dad = wants6 ? timed('ipv6-dad-wait', () => waitForDad(ip, nic)) : Promise.resolve(new Set<string>());
  dad.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile

  if (settings.detectIPConflict) {
    await timed('conflict', () =>
      Promise.all([
        ...nic.addresses[4].map((a) => conflict4(arping, nic, a, settings.timing)),
        ...nic.addresses[6].map(async (a) => conflict6(ndisc6, nic, a, ownMac, settings.timing, (await dad).has(a))),
      ]),
    );
  }

  let mac: string | undefined;
  let undo = nothing;
  const source = macSourceAddress(nic.addresses);
  if (settings.macPrefix !== undefined && source !== undefined) {
    mac = macFor(settings.macPrefix, source);
    if (mac !== ownMac) {
      await timed('mac', () => setMac(ip, nic.ifname, mac!));
      undo = () => setMac(ip, nic.ifname, ownMac).catch(() => {});
    }
  }

  if (settings.detectGateway) {
    try {
      await dad;
      await timed('gateway', () =>
        Promise.all([
          ...(wants4Gateway ? [gateway4(arping, nic, nic.gateways[4]!, settings.timing)] : []),
          ...(nic.addresses[6].length > 0 && nic.gateways[6] !== undefined ? [gateway6(ndisc6, nic, nic.gateways[6], settings.timing)] : []),
        ]),
      );
    } catch (error) {
      await undo();
      throw error;
    }
  }
  return { ...(mac === undefined ? {} : { mac }), undo, ms };
}

interface ObservedAddresses {
  addr_info?: { local: string; tentative?: boolean; dadfailed?: boolean }[];
}

/** Waits while the NIC's IPv6 addresses are tentative; returns those whose DAD failed. */
async function waitForDad(ip: NetnsIp, nic: NicFacts): Promise<Set<string>> {
  const until = Date.now() + DAD_WAIT_MS;
  for (;;) {
    const [link] = await ip.json<ObservedAddresses[]>(['-6', 'addr', 'show', 'dev', nic.ifname]);
    const ours = (link?.addr_info ?? []).filter((a) => nic.addresses[6].includes(a.local));
    const failed = new Set(ours.filter((a) => a.dadfailed).map((a) => a.local));
    const pending = ours.filter((a) => a.tentative && !a.dadfailed);
    if (pending.length === 0) return failed;
    if (Date.now() >= until) {
      throw new CniError(
        CniCode.netnsSetup,
        `underpin-coordinator: ${pending.map((a) => a.local).join(', ')} on ${nic.ifname} still tentative (duplicate address detection running) after ${DAD_WAIT_MS / 1000}s; ` +
          `lower net.ipv6.conf.${nic.ifname}.dad_transmits or net.ipv6.neigh.${nic.ifname}.retrans_time_ms in the pod, or turn detectIPConflict and detectGateway off`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ARP_REPLY = /reply from (\S+) \[([0-9a-f:]{17})\]/gi;
const NDISC_REPLY = /Target link-layer address: ([0-9a-f:]{17})/gi;

const seconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)) + 1);

function toolFailure(tool: string, okCodes: number[]) {
  return (run: ToolRun) => (run.code !== null && okCodes.includes(run.code) ? undefined : `${tool} failed (exit ${run.code ?? 'by signal'}): ${(run.stderr || run.stdout).trim()}`);
}

/** One probe of the link: how to start it, the MAC an answer names, what counts as the tool failing. */
interface LinkProbe {
  start: (waitMs: number) => Promise<RunningTool>;
  answer: (run: ToolRun) => string | undefined;
  failure: (run: ToolRun) => string | undefined;
}

/** Probe `timing.retries` times; the MAC that answered, if any. A tool that cannot run fails ADD saying `what`. */
async function probeLink(nic: NicFacts, what: string, timing: ProbeTiming, probe: LinkProbe): Promise<string | undefined> {
  try {
    return await probeAttempts(timing.retries, timing.intervalMs, timing.timeoutMs, probe.start, probe.answer, probe.failure);
  } catch (error) {
    if (error instanceof CniError) throw error;
    throw new CniError(CniCode.netnsSetup, `underpin-coordinator: ${what} on ${nic.ifname} could not run: ${(error as Error).message}`);
  }
}

async function conflict4(arping: string, nic: NicFacts, address: string, timing: ProbeTiming): Promise<void> {
  const holder = await probeLink(nic, `IP conflict detection for ${address}`, timing, {
    start: (left) => runInNetns(nic.netns, arping, ['-D', '-c', '1', '-w', seconds(left), '-I', nic.ifname, address], left),
    answer: (run) => [...run.stdout.matchAll(ARP_REPLY)].find((m) => m[1] === address)?.[2]?.toLowerCase(),
    failure: toolFailure('arping', [0, 1]),
  });
  if (holder !== undefined) throw conflictError(nic, address, holder);
}

async function conflict6(ndisc6: string, nic: NicFacts, address: string, ownMac: string, timing: ProbeTiming, dadFailed: boolean): Promise<void> {
  const holder = await probeLink(nic, `IP conflict detection for ${address}`, timing, {
    start: (left) => runInNetns(nic.netns, ndisc6, ['-m', '-n', '-r', '1', '-w', String(Math.max(1, left)), address, nic.ifname], left + 200),
    answer: (run) => [...run.stdout.matchAll(NDISC_REPLY)].map((m) => m[1]!.toLowerCase()).find((mac) => mac !== ownMac),
    // 2: no answer. 1 with "Cannot assign requested address": no usable source
    // address yet; the kernel's DAD result stands.
    failure: (run) => (run.code === 1 && /Cannot assign requested address/.test(run.stderr) ? undefined : toolFailure('ndisc6', [0, 2])(run)),
  });
  if (holder !== undefined) throw conflictError(nic, address, holder);
  if (dadFailed) throw conflictError(nic, address, undefined);
}

function conflictError(nic: NicFacts, address: string, mac: string | undefined): CniError {
  const who = mac === undefined ? 'another host (the kernel\'s duplicate address detection saw it; it did not answer a neighbour solicitation again)' : `the host with MAC ${mac}`;
  return new CniError(
    CniCode.addressInUse,
    `underpin-coordinator: IP conflict: ${address} of ${nic.ifname} is already in use on the link by ${who}; ` +
      `free the address there, or keep it out of the pool (SpiderReservedIP or the pool's excludeIPs) and re-create the pod`,
  );
}

async function gateway4(arping: string, nic: NicFacts, gateway: string, timing: ProbeTiming): Promise<void> {
  const source = nic.addresses[4][0]!;
  const answered = await probeLink(nic, `the gateway check for ${gateway}`, timing, {
    start: (left) => runInNetns(nic.netns, arping, ['-f', '-c', '1', '-w', seconds(left), '-I', nic.ifname, '-s', source, gateway], left),
    answer: (run) => [...run.stdout.matchAll(ARP_REPLY)].find((m) => m[1] === gateway)?.[2],
    failure: toolFailure('arping', [0, 1]),
  });
  if (answered === undefined) throw gatewayError(nic, gateway, 'ARP', timing);
}

async function gateway6(ndisc6: string, nic: NicFacts, gateway: string, timing: ProbeTiming): Promise<void> {
  const answered = await probeLink(nic, `the gateway check for ${gateway}`, timing, {
    start: (left) => runInNetns(nic.netns, ndisc6, ['-1', '-n', '-r', '1', '-w', String(Math.max(1, left)), gateway, nic.ifname], left + 200),
    answer: (run) => [...run.stdout.matchAll(NDISC_REPLY)][0]?.[1],
    failure: toolFailure('ndisc6', [0, 2]),
  });
  if (answered === undefined) throw gatewayError(nic, gateway, 'neighbour solicitation', timing);
}

function gatewayError(nic: NicFacts, gateway: string, probe: string, timing: ProbeTiming): CniError {
  return new CniError(
    CniCode.gatewayUnreachable,
    `underpin-coordinator: gateway ${gateway} of ${nic.ifname} did not answer ${timing.retries} ${probe} probe(s) within ${(timing.retries - 1) * timing.intervalMs + timing.timeoutMs}ms; ` +
      `check the pool's gateway (and the NIC's VLAN and master), or turn detectGateway off (some switches do not answer or alarm on probes)`,
  );
}
