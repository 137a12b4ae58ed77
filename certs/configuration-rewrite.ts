// Read, change and replace one of Underpin's webhook configurations, with the read's
// resourceVersion as precondition: on 409 someone else (another replica, another of
// our writers, a kubectl apply) wrote in between, so read again and change the fresh
// copy. The caBundle injector and the pod webhook's scope both write this way.
import { apiStatus } from '../kube/api-status.js';

const MAX_CONFLICT_RETRIES = 5;

/** What `change` decided: leave the configuration as read, or write it (edited in place). */
export type Rewrite<C, R> = { keep: R } | { write: (stored: C) => R };

export async function rewriteConfiguration<C, R>(rewrite: {
  /** `caBundle of underpin-mutating`, for errors. */
  what: string;
  read: () => Promise<C>;
  replace: (body: C) => Promise<C>;
  /** The outcome when the configuration does not exist (yet). */
  missing: R;
  change: (current: C) => Rewrite<C, R>;
}): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    let current: C;
    try {
      current = await rewrite.read();
    } catch (error) {
      if (apiStatus(error) === 404) return rewrite.missing;
      throw error;
    }
    const decided = rewrite.change(current);
    if ('keep' in decided) return decided.keep;
    try {
      return decided.write(await rewrite.replace(current));
    } catch (error) {
      if (apiStatus(error) === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
      if (apiStatus(error) === 403) {
        throw new Error(`updating ${rewrite.what}: forbidden; the controller's ClusterRole must allow get and update on it (manifests/controller/rbac.yaml)`, { cause: error });
      }
      throw new Error(`updating ${rewrite.what}: ${(error as Error).message}`, { cause: error });
    }
  }
}
