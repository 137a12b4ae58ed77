// The HTTP status of a failed Kubernetes API call (404, 409, …), or undefined when the
// call failed without an answer (network, TLS, timeouts).
import { ApiException } from '@kubernetes/client-node';

export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The object a GET returns, or undefined when there is none (404); other failures throw. */
export async function foundOrUndefined<T>(get: Promise<T>): Promise<T | undefined> {
  try {
    return await get;
  } catch (error) {
    if (apiStatus(error) === 404) return undefined;
    throw error;
  }
}
