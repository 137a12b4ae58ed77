import t from 'tap';
import type { KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { objectKey, type ListWatch } from '../../../kube/list-watch.js';
import { ResourceCache } from '../../../kube/resource-cache.js';

/** An informer driven by hand. */
function fakeInformer() {
  const handlers: Array<(event: 'add' | 'update' | 'delete', object: KubernetesObject) => void> = [];
  const informer: ListWatch = {
    resource: 'things',
    onChange: (handler) => void handlers.push(handler),
    start: async () => {},
    stop: async () => {},
  };
  return { informer, emit: (event: 'add' | 'update' | 'delete', object: KubernetesObject) => handlers.forEach((h) => h(event, object)) };
}

const Thing = z.looseObject({ metadata: z.looseObject({ name: z.string(), namespace: z.string().optional(), resourceVersion: z.string().optional() }), spec: z.object({ group: z.string() }) });
type Thing = z.infer<typeof Thing>;

function thing(name: string, group: string, rv = '1', namespace = 'ns'): KubernetesObject {
  return { metadata: { name, namespace, resourceVersion: rv }, spec: { group } } as KubernetesObject;
}

t.test('keys are namespace/name, or the name of cluster-scoped objects', async (t) => {
  t.equal(objectKey({ metadata: { name: 'a', namespace: 'ns' } }), 'ns/a');
  t.equal(objectKey({ metadata: { name: 'a' } }), 'a');
  t.equal(objectKey({}), '');
});

t.test('objects are parsed, indexed, re-indexed on change and dropped on delete', async (t) => {
  const { informer, emit } = fakeInformer();
  const warnings: string[] = [];
  const cache = new ResourceCache(informer, Thing, 'Thing', { warn: (_o, msg) => warnings.push(msg) }).addIndex('group', (x) => [x.spec.group]);
  const changes: Array<[string, string | undefined, string | undefined]> = [];
  cache.onChange((key, current, previous) => changes.push([key, current?.spec.group, previous?.spec.group]));

  emit('add', thing('a', 'g1'));
  emit('add', thing('b', 'g1'));
  t.same(cache.byIndex('group', 'g1').map((x: Thing) => x.metadata.name).sort(), ['a', 'b']);
  emit('update', thing('a', 'g2', '2'));
  t.same(cache.byIndex('group', 'g1').map((x) => x.metadata.name), ['b']);
  t.same(cache.byIndex('group', 'g2').map((x) => x.metadata.name), ['a']);
  t.same([...cache.indexValues('group')].sort(), ['g1', 'g2']);
  emit('delete', thing('b', 'g1'));
  t.same(cache.byIndex('group', 'g1'), []);
  t.same([...cache.indexValues('group')], ['g2'], 'empty index values go');
  t.equal(cache.size, 1);
  t.equal(cache.get('ns/a')?.spec.group, 'g2');
  t.same(changes, [
    ['ns/a', 'g1', undefined],
    ['ns/b', 'g1', undefined],
    ['ns/a', 'g2', 'g1'],
    ['ns/b', undefined, 'g1'],
  ]);
  t.same(warnings, []);
  t.same(cache.byIndex('nope', 'x'), [], 'unknown index: nothing');
});

t.test('a malformed version is logged once and counts as absent', async (t) => {
  const { informer, emit } = fakeInformer();
  const warnings: string[] = [];
  const cache = new ResourceCache(informer, Thing, 'Thing', { warn: (_o, msg) => warnings.push(msg) }).addIndex('group', (x) => [x.spec.group]);
  emit('add', thing('a', 'g1'));
  const bad = { metadata: { name: 'a', namespace: 'ns', resourceVersion: '2' }, spec: {} } as KubernetesObject;
  emit('update', bad);
  emit('update', bad);
  t.equal(cache.get('ns/a'), undefined);
  t.same(cache.byIndex('group', 'g1'), []);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /^Thing ns\/a is malformed, skipped: spec\.group: /);
  emit('delete', bad);
  t.equal(cache.size, 0);
});
