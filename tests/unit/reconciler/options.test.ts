import t from 'tap';
import { parseReconcilerOptions } from '../../../reconciler/options.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseReconcilerOptions(argv, env, 'node-1_42');

t.test('defaults', async (t) => {
  const result = parse([]);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.options, {
    namespace: 'underpin-system',
    leaseName: 'underpin-reconciler',
    identity: 'node-1_42',
    logLevel: 'info',
    resyncSeconds: 300,
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
  });
});

t.test('the namespace comes from --namespace, else $POD_NAMESPACE', async (t) => {
  const fromEnv = parse([], { POD_NAMESPACE: 'kube-system' });
  t.ok(fromEnv.ok && fromEnv.options.namespace === 'kube-system');
  const fromFlag = parse(['--namespace', 'ops'], { POD_NAMESPACE: 'kube-system' });
  t.ok(fromFlag.ok && fromFlag.options.namespace === 'ops');
});

t.test('every option', async (t) => {
  const result = parse([
    '--kubeconfig=/tmp/k',
    '--namespace=ns1',
    '--lease-name=lease.a',
    '--identity=me',
    '--log-level=debug',
    '--resync-seconds=30',
    '--lease-duration-seconds=6',
    '--renew-deadline-seconds=4',
    '--retry-period-seconds=1',
  ]);
  t.ok(result.ok);
  if (!result.ok) return;
  t.same(result.options, {
    kubeconfig: '/tmp/k',
    namespace: 'ns1',
    leaseName: 'lease.a',
    identity: 'me',
    logLevel: 'debug',
    resyncSeconds: 30,
    leaseDurationSeconds: 6,
    renewDeadlineSeconds: 4,
    retryPeriodSeconds: 1,
  });
});

t.test('bad options are named with what is wrong, followed by the usage', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--resync-seconds', 'soon'], /^--resync-seconds: must be a number of seconds/],
    [['--resync-seconds', '0'], /^--resync-seconds: must be more than 0 seconds/],
    [['--namespace', 'Underpin_System'], /^--namespace: must be a lowercase DNS label/],
    [['--lease-name', 'UP'], /^--lease-name: must be a lowercase DNS name/],
    [['--identity', 'has space'], /^--identity: must be 1-128 printable characters/],
    [['--log-level', 'loud'], /^--log-level: /],
    [['--renew-deadline-seconds', '20'], /^--renew-deadline-seconds \(20 s\) must be shorter than --lease-duration-seconds \(15 s\)/],
    [['--nope'], /Unknown option '--nope'/],
    [['extra'], /Unexpected argument 'extra'/],
  ];
  for (const [argv, message] of cases) {
    const result = parse(argv);
    t.notOk(result.ok, argv.join(' '));
    if (result.ok) continue;
    t.match(result.error, message, argv.join(' '));
    t.match(result.error, /usage: underpin-reconciler/);
  }
});
