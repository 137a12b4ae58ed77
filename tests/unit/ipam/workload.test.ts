import t from 'tap';
import { ANNOTATION } from '../../../ipam/pod-annotations.js';
import { desiredReplicas, readAutoPoolRequest, templateAnnotations, Workload } from '../../../ipam/workload.js';

const A = ANNOTATION;

t.test('readAutoPoolRequest reads subnets/subnet with defaults', async (t) => {
  const cases: Array<[name: string, annotations: Record<string, string>, expected: unknown]> = [
    ['no subnet annotation', { [A.ippool]: '{"ipv4":["p"]}' }, undefined],
    ['subnet, eth0 by default, +1, reclaim', { [A.subnet]: '{"ipv4":["s4"],"ipv6":["s6"]}' }, { nics: [{ interface: 'eth0', ipv4: 's4', ipv6: 's6' }], ipNumber: { kind: 'extra', count: 1 }, reclaim: true }],
    ['only the first subnet per family counts', { [A.subnet]: '{"ipv4":["s4","t4"],"ipv6":["s6","t6"]}' }, { nics: [{ interface: 'eth0', ipv4: 's4', ipv6: 's6' }], ipNumber: { kind: 'extra', count: 1 }, reclaim: true }],
    ['single subnets entry defaults to eth0', { [A.subnets]: '[{"ipv6":["s6"]}]' }, { nics: [{ interface: 'eth0', ipv6: 's6' }], ipNumber: { kind: 'extra', count: 1 }, reclaim: true }],
    ['subnets wins over subnet', { [A.subnet]: '{"ipv4":["ignored"]}', [A.subnets]: '[{"interface":"eth0","ipv4":["a"]},{"interface":"net1","ipv4":["b"],"ipv6":["b6"]}]' },
      { nics: [{ interface: 'eth0', ipv4: 'a' }, { interface: 'net1', ipv4: 'b', ipv6: 'b6' }], ipNumber: { kind: 'extra', count: 1 }, reclaim: true }],
    ['explicit interface on subnet', { [A.subnet]: '{"interface":"net1","ipv4":["s4"]}' }, { nics: [{ interface: 'net1', ipv4: 's4' }], ipNumber: { kind: 'extra', count: 1 }, reclaim: true }],
    ['fixed number, no reclaim', { [A.subnet]: '{"ipv4":["s4"]}', [A.ippoolIPNumber]: '5', [A.ippoolReclaim]: 'false' }, { nics: [{ interface: 'eth0', ipv4: 's4' }], ipNumber: { kind: 'fixed', count: 5 }, reclaim: false }],
    ['+N', { [A.subnet]: '{"ipv4":["s4"]}', [A.ippoolIPNumber]: '+3' }, { nics: [{ interface: 'eth0', ipv4: 's4' }], ipNumber: { kind: 'extra', count: 3 }, reclaim: true }],
  ];
  for (const [name, annotations, expected] of cases) {
    const got = readAutoPoolRequest(annotations);
    t.same(got, { ok: true, value: expected }, name);
  }
  t.same(readAutoPoolRequest({ [A.subnet]: '{"ipv4":["s4"]}' }, 4), { ok: true, value: { nics: [{ interface: 'eth0', ipv4: 's4' }], ipNumber: { kind: 'extra', count: 4 }, reclaim: true } }, 'default extra from the cluster setting');
});

t.test('readAutoPoolRequest errors', async (t) => {
  const cases: Array<[name: string, annotations: Record<string, string>, message: RegExp]> = [
    ['missing interface with several entries', { [A.subnets]: '[{"ipv4":["a"]},{"ipv4":["b"]}]' }, /^annotation ipam\.spidernet\.io\/subnets: entry \[0\] has no "interface"/],
    ['one of several without interface', { [A.subnets]: '[{"interface":"eth0","ipv4":["a"]},{"ipv4":["b"]}]' }, /entry \[1\] has no "interface"/],
    ['duplicate interface', { [A.subnets]: '[{"interface":"net1","ipv4":["a"]},{"interface":"net1","ipv4":["b"]}]' }, /interface "net1" is listed twice/],
    ['same subnet on two NICs', { [A.subnets]: '[{"interface":"eth0","ipv4":["a"]},{"interface":"net1","ipv4":["a"]}]' }, /subnet "a" is named for both eth0 and net1/],
    ['same subnet v6 on two NICs', { [A.subnets]: '[{"interface":"eth0","ipv6":["a6"]},{"interface":"net1","ipv6":["a6"]}]' }, /subnet "a6" is named for both eth0 and net1/],
    ['glob *', { [A.subnet]: '{"ipv4":["s-*"]}' }, /"s-\*" is a pattern; subnet names must be exact/],
    ['glob ?', { [A.subnets]: '[{"ipv6":["s?"]}]' }, /"s\?" is a pattern/],
    ['glob [', { [A.subnet]: '{"ipv4":["s[ab]"]}' }, /is a pattern/],
    ['no subnet at all', { [A.subnet]: '{"interface":"eth0"}' }, /entry for "eth0" names no ipv4 or ipv6 subnet/],
    ['empty lists', { [A.subnet]: '{"ipv4":[],"ipv6":[]}' }, /names no ipv4 or ipv6 subnet/],
    ['empty subnets list', { [A.subnets]: '[]' }, /must list at least one interface/],
    ['bad JSON', { [A.subnet]: '{' }, /^annotation ipam\.spidernet\.io\/subnet: not valid JSON/],
    ['bad ip number', { [A.subnet]: '{"ipv4":["s"]}', [A.ippoolIPNumber]: 'two' }, /ippool-ip-number: "two" is not a number of addresses/],
    ['negative ip number', { [A.subnet]: '{"ipv4":["s"]}', [A.ippoolIPNumber]: '-1' }, /ippool-ip-number/],
    ['bad reclaim', { [A.subnet]: '{"ipv4":["s"]}', [A.ippoolReclaim]: 'yes' }, /ippool-reclaim: "yes" must be "true"/],
  ];
  for (const [name, annotations, message] of cases) {
    const got = readAutoPoolRequest(annotations);
    t.notOk(got.ok, name);
    if (!got.ok) t.match(got.error, message, name);
  }
});

function workload(kind: string, spec: Record<string, unknown>): Workload {
  return Workload.parse({ apiVersion: kind === 'CronJob' || kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, metadata: { name: 'w', namespace: 'ns' }, spec });
}
const tmpl = (annotations: Record<string, string>) => ({ metadata: { annotations } });

t.test('templateAnnotations: pod template, or the job template for a CronJob', async (t) => {
  const a = { k: 'v' };
  const cases: Array<[name: string, w: Workload, expected: Record<string, string>]> = [
    ['Deployment', workload('Deployment', { template: tmpl(a) }), a],
    ['StatefulSet', workload('StatefulSet', { template: tmpl(a) }), a],
    ['DaemonSet without annotations', workload('DaemonSet', { template: { metadata: {} } }), {}],
    ['Job without template', workload('Job', {}), {}],
    ['CronJob uses jobTemplate', workload('CronJob', { template: tmpl({ wrong: 'x' }), jobTemplate: { spec: { template: tmpl(a) } } }), a],
    ['CronJob without jobTemplate', workload('CronJob', { template: tmpl({ wrong: 'x' }) }), {}],
    ['null annotations', workload('ReplicaSet', { template: { metadata: { annotations: null } } }), {}],
  ];
  for (const [name, w, expected] of cases) t.same(templateAnnotations(w), expected, name);
});

t.test('desiredReplicas per kind', async (t) => {
  const cases: Array<[name: string, w: Workload, expected: number]> = [
    ['Deployment', workload('Deployment', { replicas: 3 }), 3],
    ['Deployment scaled to 0', workload('Deployment', { replicas: 0 }), 0],
    ['Deployment default', workload('Deployment', {}), 1],
    ['ReplicaSet', workload('ReplicaSet', { replicas: 2 }), 2],
    ['StatefulSet', workload('StatefulSet', { replicas: 5 }), 5],
    ['StatefulSet null', workload('StatefulSet', { replicas: null }), 1],
    ['DaemonSet uses node count', workload('DaemonSet', { replicas: 9 }), 7],
    ['Job parallelism', workload('Job', { parallelism: 4, replicas: 9 }), 4],
    ['Job default', workload('Job', {}), 1],
    ['CronJob parallelism', workload('CronJob', { parallelism: 9, jobTemplate: { spec: { parallelism: 2 } } }), 2],
    ['CronJob default', workload('CronJob', {}), 1],
  ];
  for (const [name, w, expected] of cases) t.equal(desiredReplicas(w, 7), expected, name);
});
