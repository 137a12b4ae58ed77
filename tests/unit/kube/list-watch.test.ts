// The paged list of the list-watch (its streaming list is off here: that one needs a
// real API server, and every integration test syncs through it), driven by a fake
// source: pages followed to the end (both spellings of the continue token), an
// expired token restarting the list, and what handlers hear. The watch it opens after listing dials a closed loopback
// port and keeps retrying until stop(): no packet leaves the machine.
import t from 'tap';
import { ApiException, KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { listWatch, type ChangeEvent, type ListPage, type ListWatchSource } from '../../../kube/list-watch.js';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

const silent = { warn: () => {} };

function object(name: string, resourceVersion: string, extra: Record<string, unknown> = {}): KubernetesObject {
  return { metadata: { name, resourceVersion, managedFields: [{ manager: 'kubectl' }], annotations: { keep: 'me', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, ...extra } as KubernetesObject;
}

/** A source serving `pages` in turn; `token` picks how the continue token is spelled. */
function pagedSource(pages: () => KubernetesObject[][], token: 'continue' | '_continue', fail?: (page: ListPage) => unknown): ListWatchSource & { calls: ListPage[] } {
  const calls: ListPage[] = [];
  return {
    resource: 'things',
    path: '/apis/example.dev/v1/things',
    calls,
    async list(page) {
      calls.push(page);
      const failure = fail?.(page);
      if (failure) throw failure;
      const all = pages();
      const index = page.continue ? Number(page.continue) : 0;
      const next = index + 1 < all.length ? String(index + 1) : undefined;
      return { items: all[index] ?? [], metadata: { resourceVersion: '100', ...(next ? { [token]: next } : {}) } } as KubernetesListObject<KubernetesObject>;
    },
  };
}

function record(watch: ReturnType<typeof listWatch>) {
  const heard: Array<[ChangeEvent, string]> = [];
  const objects: KubernetesObject[] = [];
  watch.onChange((event, o) => {
    heard.push([event, o.metadata?.name ?? '']);
    objects.push(o);
  });
  return { heard, objects };
}

for (const token of ['continue', '_continue'] as const) {
  t.test(`every page is read (continue token as \`${token}\`), and objects arrive pruned`, async (t) => {
    const source = pagedSource(() => [[object('a', '1'), object('b', '1')], [object('c', '1')], [object('d', '1')]], token);
    const watch = listWatch(kubeConfig(), source, silent, { streamingList: false });
    const { heard, objects } = record(watch);
    await watch.start();
    t.teardown(() => watch.stop());
    t.same(heard, [['add', 'a'], ['add', 'b'], ['add', 'c'], ['add', 'd']]);
    t.same(source.calls.map((c) => c.continue), [undefined, '1', '2'], 'pages followed to the last');
    t.ok(source.calls.every((c) => c.limit > 0), 'every page is limited');
    const metadata = objects[0]!.metadata as Record<string, unknown>;
    t.equal(metadata.managedFields, undefined, 'managedFields dropped');
    t.same(metadata.annotations, { keep: 'me' }, "kubectl's last-applied copy dropped, other annotations kept");
  });
}

t.test('an expired continue token restarts the list from the first page', async (t) => {
  let expired = false;
  const gone = new ApiException(410, 'Gone', '{"code":410}', {});
  const source = pagedSource(() => [[object('a', '1')], [object('b', '1')]], 'continue', (page) => {
    if (page.continue && !expired) {
      expired = true;
      return gone;
    }
    return undefined;
  });
  const watch = listWatch(kubeConfig(), source, silent, { streamingList: false });
  const { heard } = record(watch);
  await watch.start();
  t.teardown(() => watch.stop());
  t.same(source.calls.map((c) => c.continue), [undefined, '1', undefined, '1']);
  t.same(heard, [['add', 'a'], ['add', 'b']], 'an object seen on the abandoned pass is not announced twice');
});

t.test('a shared list-watch starts once and stops with its last user', async (t) => {
  const source = pagedSource(() => [[object('a', '1')]], 'continue');
  const watch = listWatch(kubeConfig(), source, silent, { streamingList: false });
  await Promise.all([watch.start(), watch.start()]);
  t.equal(source.calls.length, 1, 'one list for two users');
  await watch.stop();
  await watch.stop();
  t.pass('stopped');
});
