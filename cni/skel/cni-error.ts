// CNI errors: what a plugin prints on stdout (with a non-zero exit) when it fails.
// Format and the well-known codes 1–11 are from the CNI spec; codes from 100 on are
// Underpin's own (the spec leaves 100+ to plugins).

export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  // Underpin's own.
  podNotBound: 100,
  noInterfaceBinding: 101,
  podRecreated: 102,
  forgedBinding: 103,
  apiRefused: 104,
  podNotFound: 105,
  checkMismatch: 106,
  netnsSetup: 107,
  /** Coordinator, detectIPConflict: another host on the link answers for the NIC's address. */
  addressInUse: 108,
  /** Coordinator, detectGateway: the NIC's gateway does not answer ARP / neighbour solicitation. */
  gatewayUnreachable: 109,
} as const;
export type CniCode = (typeof CniCode)[keyof typeof CniCode];

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'CniError';
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details === undefined ? {} : { details: this.details }) };
  }
}

/** Any thrown value as a CniError; unknown failures are I/O failures (code 5) with the original message. */
export function asCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CniError(CniCode.ioFailure, `internal error: ${message}`);
}
