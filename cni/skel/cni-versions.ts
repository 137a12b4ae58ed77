// The CNI spec versions Underpin's plugins speak, and how their results differ.

export const SUPPORTED_VERSIONS = ['0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.0.0';

export function isSupportedVersion(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** CHECK exists from 0.4.0 on. */
export function allowsCheck(version: CniVersion): boolean {
  return version !== '0.3.1';
}

/** Before 1.0.0, each entry of `ips` carries `version: "4" | "6"`. */
export function ipsCarryVersion(version: CniVersion): boolean {
  return version === '0.3.1' || version === '0.4.0';
}
