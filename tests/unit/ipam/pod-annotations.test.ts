import t from 'tap';
import {
  ANNOTATION,
  IPPoolAnnotation,
  IPPoolsAnnotation,
  MultusNetworksJSON,
  NamespaceDefaultPools,
  RoutesAnnotation,
  SubnetsAnnotation,
  readIPNumber,
  readJsonAnnotation,
  readReclaim,
} from '../../../ipam/pod-annotations.js';
import type { z } from 'zod';

t.test('readJsonAnnotation: errors name the key and give an example', async (t) => {
  const cases: Array<[key: string, value: string, schema: z.ZodType<unknown>, message: RegExp]> = [
    [ANNOTATION.ippool, '{', IPPoolAnnotation, /^annotation ipam\.spidernet\.io\/ippool: not valid JSON \(.+\); e\.g\. \{"ipv4":\["pool-a"\],"ipv6":\["pool-a6"\]\}$/],
    [ANNOTATION.ippool, '{"ipv4":"pool-a"}', IPPoolAnnotation, /^annotation ipam\.spidernet\.io\/ippool: ipv4: .+; e\.g\. \{"ipv4"/],
    [ANNOTATION.ippool, '{"ipv4":[""]}', IPPoolAnnotation, /ipv4\[0\]: must not be empty; e\.g\./],
    [ANNOTATION.ippools, '[]', IPPoolsAnnotation, /^annotation ipam\.spidernet\.io\/ippools: must list at least one interface; e\.g\. \[\{"interface":"eth0"/],
    [ANNOTATION.ippools, '[{"interface":"eth0","cleangateway":"no"}]', IPPoolsAnnotation, /\[0\]\.cleangateway: .+; e\.g\./],
    [ANNOTATION.subnets, '{}', SubnetsAnnotation, /^annotation ipam\.spidernet\.io\/subnets: .+; e\.g\. \[\{"interface":"eth0","ipv4":\["subnet-a"\]\}/],
    [ANNOTATION.routes, '[{"dst":"10.0.0.0/16"}]', RoutesAnnotation, /^annotation ipam\.spidernet\.io\/routes: \[0\]\.gw: is required: the next-hop address.+; e\.g\. \[\{"dst"/],
    [ANNOTATION.namespaceDefaultIPv4, '"pool-a"', NamespaceDefaultPools, /^annotation ipam\.spidernet\.io\/default-ipv4-ippool: .+; e\.g\. \["pool-a","pool-b"\]$/],
    [ANNOTATION.multusNetworks, '[{"namespace":"kube-system"}]', MultusNetworksJSON, /^annotation k8s\.v1\.cni\.cncf\.io\/networks: \[0\]\.name: .+; e\.g\. \[\{"name":"macvlan-net1"/],
  ];
  for (const [key, value, schema, message] of cases) {
    const got = readJsonAnnotation(key, value, schema);
    t.notOk(got.ok, `${key} = ${value}`);
    if (!got.ok) t.match(got.error, message, `${key} = ${value}`);
  }
  const noExample = readJsonAnnotation('example.com/other', 'nope', NamespaceDefaultPools);
  t.same(noExample.ok, false);
  if (!noExample.ok) t.notMatch(noExample.error, /e\.g\./, 'a key without an example gives none');
});

t.test('readJsonAnnotation: valid values', async (t) => {
  t.same(readJsonAnnotation(ANNOTATION.ippool, '{"ipv4":["a","b"],"ipv6":["c"],"cleangateway":true}', IPPoolAnnotation), { ok: true, value: { ipv4: ['a', 'b'], ipv6: ['c'], cleangateway: true } });
  t.same(readJsonAnnotation(ANNOTATION.multusNetworks, '[{"name":"n","extra":1}]', MultusNetworksJSON), { ok: true, value: [{ name: 'n', extra: 1 }] }, 'Multus selections keep unknown fields');
  t.same(readJsonAnnotation(ANNOTATION.namespaceDefaultIPv6, '[]', NamespaceDefaultPools), { ok: true, value: [] });
});

t.test('readIPNumber', async (t) => {
  const cases: Array<[value: string, expected: { kind: 'fixed' | 'extra'; count: number } | undefined]> = [
    ['0', { kind: 'fixed', count: 0 }],
    ['5', { kind: 'fixed', count: 5 }],
    ['+0', { kind: 'extra', count: 0 }],
    ['+2', { kind: 'extra', count: 2 }],
    [' 3 ', { kind: 'fixed', count: 3 }],
    ['007', { kind: 'fixed', count: 7 }],
    ['65536', { kind: 'fixed', count: 65536 }],
    ['+65536', { kind: 'extra', count: 65536 }],
    ['65537', undefined],
    ['1000000', undefined],
    ['', undefined],
    ['+', undefined],
    ['-1', undefined],
    ['++1', undefined],
    ['1.5', undefined],
    ['1e3', undefined],
    ['0x10', undefined],
    ['+ 1', undefined],
    ['two', undefined],
  ];
  for (const [value, expected] of cases) {
    const got = readIPNumber(value);
    if (expected) t.same(got, { ok: true, value: expected }, JSON.stringify(value));
    else {
      t.notOk(got.ok, JSON.stringify(value));
      if (!got.ok) t.match(got.error, `annotation ${ANNOTATION.ippoolIPNumber}: "${value}" is not a number of addresses; write "N"`);
    }
  }
});

t.test('readReclaim', async (t) => {
  t.same(readReclaim('true'), { ok: true, value: true });
  t.same(readReclaim('false'), { ok: true, value: false });
  for (const value of ['True', 'FALSE', '1', '', ' true', 'yes']) {
    const got = readReclaim(value);
    t.notOk(got.ok, JSON.stringify(value));
    if (!got.ok) t.match(got.error, `annotation ${ANNOTATION.ippoolReclaim}: "${value}" must be "true"`);
  }
});
