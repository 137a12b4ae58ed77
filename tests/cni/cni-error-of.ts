import { CniError } from '../../cni/skel/cni-error.js';

/** The CNI error `fn` throws, as code and message (code -1: not a CniError), or undefined. */
export function cniErrorOf(fn: () => unknown): { code: number; msg: string } | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof CniError ? { code: error.code, msg: error.message } : { code: -1, msg: String(error) };
  }
  return undefined;
}
