// The HTTP status of a failed Kubernetes API call (404, 409, …), or undefined when the
// call failed without an answer (network, TLS, timeouts).
import { ApiException } from '@kubernetes/client-node';

export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}
