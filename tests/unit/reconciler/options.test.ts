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
    orphanClaimTtlSeconds: 120,
    nodeLossRelease: 'not-ready',
    nodeLossReleaseDelaySeconds: 0,
    autoPoolIntervalSeconds: 30,
    defaultExtraAddresses: 1,
    metricsBindAddress: { host: '127.0.0.1', port: 9090 },
  });
});

t.test('the orphan claim TTL comes from the flag, else $UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS, else 120 s', async (t) => {
  const fromEnv = parse([], { UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: '3' });
  t.ok(fromEnv.ok && fromEnv.options.orphanClaimTtlSeconds === 3);
  const fromFlag = parse(['--orphan-claim-ttl-seconds=30'], { UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: '3' });
  t.ok(fromFlag.ok && fromFlag.options.orphanClaimTtlSeconds === 30);
  const emptyEnv = parse([], { UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: '' });
  t.ok(emptyEnv.ok && emptyEnv.options.orphanClaimTtlSeconds === 120, 'an empty variable is unset');
  const badEnv = parse([], { UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: 'soon' });
  t.notOk(badEnv.ok);
  if (!badEnv.ok) t.match(badEnv.error, /^\$UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: must be a number of seconds/, 'names the variable, not the flag');
});

t.test('--metrics-bind-address: host:port, [ipv6]:port, :port, or 0 for off', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['127.0.0.1:9090', { host: '127.0.0.1', port: 9090 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    [':8080', { host: '0.0.0.0', port: 8080 }],
    ['localhost:9100', { host: 'localhost', port: 9100 }],
    ['0', 'disabled'],
  ];
  for (const [flag, expected] of cases) {
    const result = parse([`--metrics-bind-address=${flag}`]);
    t.ok(result.ok, flag);
    if (result.ok) t.same(result.options.metricsBindAddress, expected, flag);
  }
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
    '--orphan-claim-ttl-seconds=5',
    '--node-loss-release=out-of-service',
    '--node-loss-release-delay-seconds=60',
    '--metrics-bind-address=127.0.0.1:0',
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
    orphanClaimTtlSeconds: 5,
    nodeLossRelease: 'out-of-service',
    nodeLossReleaseDelaySeconds: 60,
    autoPoolIntervalSeconds: 30,
    defaultExtraAddresses: 1,
    metricsBindAddress: { host: '127.0.0.1', port: 0 },
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
    [['--orphan-claim-ttl-seconds=-1'], /^--orphan-claim-ttl-seconds: must be more than 0 seconds/],
    [['--node-loss-release', 'never'], /^--node-loss-release: must be "not-ready" .* or "out-of-service"/],
    [['--node-loss-release-delay-seconds=-5'], /^--node-loss-release-delay-seconds: must be 0 seconds or more/],
    [['--metrics-bind-address', '9090'], /^--metrics-bind-address: "9090" is not an address to listen on; write host:port/],
    [['--metrics-bind-address', '127.0.0.1:70000'], /^--metrics-bind-address: /],
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
