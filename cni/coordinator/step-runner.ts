// Runs the coordinator's plans: phases of `ip` commands, each in the pod's or the
// node's namespace, in order. When a command fails, everything the earlier ones did
// is undone, newest first, so a failed ADD leaves both namespaces as it found them.
import { CniCode, CniError } from '../skel/cni-error.js';
import type { NetnsIp } from './netns-ip.js';
import type { IPFamily as Family } from '../../ipam/address.js';

export interface Step {
  run: string;
  /**
   * What takes the step back. Left out when something else takes it back: a route
   * or neighbour on the veth goes with the veth, whose own step deletes it.
   */
  undo?: string;
}

export type Where = 'pod' | 'node';

export interface Phase {
  where: Where;
  /** `ip -4|-6`; left out for commands that name no address (links) or infer it. */
  family?: Family;
  /** What the phase is for, as the error message says it: "policy routing for net1". */
  purpose: string;
  steps: Step[];
  /** Clean-up of leftovers: failures are ignored and nothing is undone. */
  bestEffort?: boolean;
}

export type Namespaces = Record<Where, NetnsIp>;

interface Done {
  where: Where;
  family: Family | undefined;
  undo: string;
}

export async function runPhases(namespaces: Namespaces, phases: Phase[]): Promise<void> {
  const done: Done[] = [];
  for (const phase of phases) {
    if (phase.steps.length === 0) continue;
    const ip = namespaces[phase.where];
    const runs = phase.steps.map((s) => s.run);
    const outcome = phase.family === undefined ? await ip.batch(runs, phase.bestEffort) : await ip.batchFamily(phase.family, runs, phase.bestEffort);
    if (phase.bestEffort) continue;
    for (const step of phase.steps.slice(0, outcome.applied)) {
      if (step.undo !== undefined) done.push({ where: phase.where, family: phase.family, undo: step.undo });
    }
    if (!outcome.ok) {
      const leftovers = await undoAll(namespaces, done);
      const inNode = phase.where === 'node' ? ' in the node namespace' : '';
      const after =
        leftovers === ''
          ? 'all changes were undone'
          : `undoing the earlier changes failed too (${leftovers}): remove them by hand (ip link, ip rule, ip route)`;
      throw new CniError(CniCode.netnsSetup, `underpin-coordinator: ${phase.purpose} failed${inNode} (${outcome.error}); ${after}`);
    }
  }
}

/** Undoes newest first, one batch per run of steps in the same namespace and family; returns what failed, or ''. */
async function undoAll(namespaces: Namespaces, done: Done[]): Promise<string> {
  const problems: string[] = [];
  const reversed = [...done].reverse();
  let start = 0;
  while (start < reversed.length) {
    const { where, family } = reversed[start]!;
    let end = start;
    while (end < reversed.length && reversed[end]!.where === where && reversed[end]!.family === family) end++;
    const commands = reversed.slice(start, end).map((d) => d.undo);
    const ip = namespaces[where];
    const outcome = family === undefined ? await ip.batch(commands, true) : await ip.batchFamily(family, commands, true);
    if (!outcome.ok) problems.push(outcome.error);
    start = end;
  }
  return problems.join('; ');
}
