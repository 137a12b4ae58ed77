// The coordinator settings a user turns on before ADD succeeds: a MAC address made
// from the NIC's address (`podMACPrefix`), IP conflict detection and the gateway
// check (`detectIPConflict`, `detectGateway`, timed by `detectOptions`), under every
// name a Spiderpool manifest may carry them. Schemas here, read in
// coordinator-config.ts; what they do is mac-prefix.ts and address-probe.ts.
import { z } from 'zod';

/**
 * Two bytes, `0a:1b` (Spiderpool's form; `0a-1b` is read the same), the first one
 * unicast (its lowest bit 0): a multicast source MAC is dropped by every switch.
 */
export const MacPrefix = z.string({ error: 'must be two bytes of a MAC address, like "0a:1b"' }).transform((text, ctx) => {
  if (text.trim() === '') return ''; // Spiderpool's "off"
  const match = /^([0-9a-fA-F]{2})[:-]([0-9a-fA-F]{2})$/.exec(text.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not two bytes of a MAC address; write it like "0a:1b" (the other four bytes come from the NIC's address)` });
    return z.NEVER;
  }
  const first = parseInt(match[1]!, 16);
  if ((first & 1) === 1) {
    const unicast = (first & 0xfe).toString(16).padStart(2, '0');
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} starts with a multicast byte (0x${match[1]!.toLowerCase()} has its lowest bit set); use an even first byte, e.g. "${unicast}:${match[2]!.toLowerCase()}"` });
    return z.NEVER;
  }
  return `${match[1]!.toLowerCase()}:${match[2]!.toLowerCase()}`;
});

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as Spiderpool's detectOptions take it ("10ms", "1s", "1s500ms"), in milliseconds. */
function durationMs(max: number) {
  return z.string({ error: `must be a duration like "100ms" or "1s"` }).transform((text, ctx) => {
    const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    const whole = parts.map((p) => p[0]).join('');
    if (parts.length === 0 || whole !== text.trim()) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a duration; write it like "100ms" or "1s"` });
      return z.NEVER;
    }
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
    if (ms < 1 || ms > max) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is out of range: between 1ms and ${max / 1000}s, so that ADD stays quick` });
      return z.NEVER;
    }
    return Math.round(ms);
  });
}

/** Spiderpool's defaults (docs/concepts/coordinator.md): 3 probes 10 ms apart, then 100 ms for an answer. */
export const DEFAULT_PROBE_TIMING = { retries: 3, intervalMs: 10, timeoutMs: 100 } as const;

export const DetectOptions = z.looseObject({
  retries: z.number({ error: 'must be a whole number of probes, 1 to 10' }).int().min(1).max(10).optional(),
  interval: durationMs(1000).optional(),
  timeout: durationMs(5000).optional(),
});

export interface ProbeTiming {
  /** Probes sent per address (ARP, neighbour solicitation). */
  retries: number;
  /** Between two probes. */
  intervalMs: number;
  /** How long an answer is waited for after the last probe. */
  timeoutMs: number;
}

export interface ProbeSettings {
  /** Normalised "0a:1b", or undefined: the NIC keeps the MAC its main plugin gave it. */
  macPrefix: string | undefined;
  detectIPConflict: boolean;
  detectGateway: boolean;
  timing: ProbeTiming;
}

/** The configuration fields these settings are read from (coordinator-config.ts's schema has them). */
export interface ProbeFields {
  podMACPrefix?: string | undefined;
  detectIPConflict?: boolean | undefined;
  detectGateway?: boolean | undefined;
  enableIPConflictDetection?: boolean | undefined;
  enableGatewayDetection?: boolean | undefined;
  detectOptions?: z.infer<typeof DetectOptions> | undefined;
}

/**
 * The coordinator's own names (`detectIPConflict`, `detectGateway`: Spiderpool's
 * coordinator, SpiderMultusConfig's `coordinator` block and SpiderCoordinator before
 * 1.0) win; Spiderpool 1.0 moved the switches to its IPAM settings
 * (`enableIPConflictDetection`, `enableGatewayDetection`, helm `ipam.*`), and those
 * names count when the coordinator's are left out. Both default to off.
 */
export function probeSettingsOf(fields: ProbeFields): ProbeSettings {
  const options = fields.detectOptions ?? {};
  return {
    macPrefix: fields.podMACPrefix === '' ? undefined : fields.podMACPrefix,
    detectIPConflict: fields.detectIPConflict ?? fields.enableIPConflictDetection ?? false,
    detectGateway: fields.detectGateway ?? fields.enableGatewayDetection ?? false,
    timing: {
      retries: options.retries ?? DEFAULT_PROBE_TIMING.retries,
      intervalMs: options.interval ?? DEFAULT_PROBE_TIMING.intervalMs,
      timeoutMs: options.timeout ?? DEFAULT_PROBE_TIMING.timeoutMs,
    },
  };
}
