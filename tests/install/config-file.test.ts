// The settings file (ConfigMap underpin-config → --config): one schema for the
// webhook and the reconciler, precedence flag > file > environment > default, and
// refusal of unknown keys and bad values with a message naming the key and the fix.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_KEYS, readUnderpinConfig, validateUnderpinConfig } from '../../kube/underpin-config.js';
import { repoPath } from '../../hack/repo-paths.js';
import { parseReconcilerOptions } from '../../reconciler/options.js';
import { parseWebhookOptions } from '../../webhook/options.js';
import { findManifest, readManifests } from './manifest-containers.js';

const dir = mkdtempSync(join(tmpdir(), 'underpin-config-'));
let files = 0;
function configFile(text: string): string {
  const path = join(dir, `config-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}
const shipped = findManifest(readManifests('manifests', 'controller', 'config.yaml'), 'ConfigMap', 'underpin-config').data['config.yaml'] as string;

t.test('the shipped ConfigMap is valid, names every setting, and states the defaults', async (t) => {
  const result = validateUnderpinConfig(parse(shipped));
  t.ok(result.ok, result.ok ? 'valid' : result.error);
  t.same(Object.keys(parse(shipped)).sort(), [...CONFIG_KEYS].sort(), 'every key of the schema is documented in the ConfigMap');

  const path = configFile(shipped);
  const env = { POD_NAMESPACE: 'underpin-system' };
  const webhookDefaults = parseWebhookOptions([], env);
  const webhookFromFile = parseWebhookOptions([`--config=${path}`], env);
  const reconcilerDefaults = parseReconcilerOptions([], env, 'id');
  const reconcilerFromFile = parseReconcilerOptions([`--config=${path}`], env, 'id');
  t.ok(webhookDefaults.ok && webhookFromFile.ok && reconcilerDefaults.ok && reconcilerFromFile.ok);
  if (!webhookDefaults.ok || !webhookFromFile.ok || !reconcilerDefaults.ok || !reconcilerFromFile.ok) return;
  t.same(webhookFromFile.options, webhookDefaults.options, 'the webhook reads the shipped values as its defaults');
  t.same(reconcilerFromFile.options, reconcilerDefaults.options, 'and so does the reconciler');
  t.equal(webhookFromFile.configFile, path);
});

t.test('one setting reaches both processes; a flag wins over the file, the file over the environment', async (t) => {
  const path = configFile('defaultExtraAddresses: 3\norphanClaimTtlSeconds: 30\nlogLevel: debug\ntrustedUsers: [alice, "system:serviceaccount:ops:bot"]\n');
  const webhook = parseWebhookOptions([`--config=${path}`], {});
  const reconciler = parseReconcilerOptions([`--config=${path}`], { UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS: '5' }, 'id');
  t.ok(webhook.ok && reconciler.ok);
  if (!webhook.ok || !reconciler.ok) return;
  t.equal(webhook.options.defaultExtraAddresses, 3);
  t.equal(reconciler.options.defaultExtraAddresses, 3, 'webhook and reconciler agree on +N');
  t.same(webhook.options.trustedUsers, ['alice', 'system:serviceaccount:ops:bot']);
  t.equal(reconciler.options.orphanClaimTtlSeconds, 30, 'the file wins over $UNDERPIN_ORPHAN_CLAIM_TTL_SECONDS');
  t.equal(reconciler.options.logLevel, 'debug');

  const flagged = parseReconcilerOptions([`--config=${path}`, '--default-extra-addresses=0', '--orphan-claim-ttl-seconds=40'], {}, 'id');
  t.ok(flagged.ok && flagged.options.defaultExtraAddresses === 0 && flagged.options.orphanClaimTtlSeconds === 40, 'flags win over the file');
  const overlay = parseWebhookOptions([`--config=${configFile('clusterNetworkIPAM: other\nclusterDefaultIPv4IPPool: [site-*, spare]\n')}`], {});
  t.ok(overlay.ok && overlay.options.clusterNetworkIPAM === 'other' && overlay.options.clusterDefaultIPv4IPPool.join() === 'site-*,spare', 'cluster network and default pools from the file');
  const overlayFlag = parseWebhookOptions(['--cluster-network-ipam=other', '--cluster-default-ipv6-ippool=v6-a,v6-b'], {});
  t.ok(overlayFlag.ok && overlayFlag.options.clusterNetworkIPAM === 'other' && overlayFlag.options.clusterDefaultIPv6IPPool.join() === 'v6-a,v6-b', '… or from flags');
  const flaggedUsers = parseWebhookOptions([`--config=${path}`, '--trusted-users=bob,carol'], {});
  t.ok(flaggedUsers.ok && flaggedUsers.options.trustedUsers.join() === 'bob,carol');
  const empty = parseWebhookOptions([`--config=${configFile('# nothing set\n')}`], { POD_NAMESPACE: 'ops' });
  t.ok(empty.ok, 'a file that sets nothing is fine');
  if (empty.ok) {
    t.same(empty.options.trustedUsers, ['system:serviceaccount:ops:underpin-controller'], 'defaults follow the namespace');
    t.same(empty.options.dnsNames, ['underpin-webhook.ops.svc', 'underpin-webhook.ops.svc.cluster.local']);
  }
});

t.test('unknown keys and bad values are refused, naming the key, the value and the fix', async (t) => {
  const cases: Array<[string, RegExp[]]> = [
    ['defaultExtraAddress: 2\n', [/defaultExtraAddress: not a setting of Underpin; did you mean "defaultExtraAddresses"\? the settings are logLevel, /]],
    ['orphanClaimTTL: 30\n', [/orphanClaimTTL: not a setting of Underpin; did you mean "orphanClaimTtlSeconds"\?/]],
    ['clusterDefaultIPv4IPool: [a]\n', [/clusterDefaultIPv4IPool: not a setting of Underpin; did you mean "clusterDefaultIPv4IPPool"\?/]],
    ['clusterDefaultIPv4IPPool: [Pool_A]\n', [/clusterDefaultIPv4IPPool\[0\]: must be a SpiderIPPool name/]],
    ['clusterNetworkIPAM: calico\n', [/clusterNetworkIPAM: must be "underpin" \(macvlan\/ipvlan with Underpin is the primary CNI\) or "other"/]],
    ['defaultExtraAddresses: -1\n', [/defaultExtraAddresses: must be 0 or more \(got -1\)/]],
    ['defaultExtraAddresses: 1.5\n', [/defaultExtraAddresses: must be a whole number of addresses \(got 1.5\)/]],
    ['defaultExtraAddresses: "two"\n', [/defaultExtraAddresses: must be a whole number of addresses \(got "two"\)/]],
    ['orphanClaimTtlSeconds: soon\n', [/orphanClaimTtlSeconds: must be a number of seconds \(got "soon"\)/]],
    ['resyncSeconds: 0\n', [/resyncSeconds: must be more than 0 seconds \(got 0\)/]],
    ['autoPoolIntervalSeconds: 100000\n', [/autoPoolIntervalSeconds: must be at most 86400 seconds \(a day\)/]],
    ['logLevel: loud\n', [/logLevel: must be one of fatal, error, warn, info, debug, trace \(got "loud"\)/]],
    ['trustedUsers: [alice, ""]\n', [/trustedUsers\[1\]: must not be empty/]],
    ['trustedUsers: {a: 1}\n', [/trustedUsers: must be a list of user names/]],
    ['maxRequestBytes: 10\n', [/maxRequestBytes: must be at least 65536 bytes/]],
    ['- logLevel: info\n', [/must be a YAML mapping of settings \(key: value\), not a list/]],
    ['logLevel: [info\n', [/not valid YAML at line \d/]],
    ['resyncSeconds: 0\nlogLevel: loud\n', [/resyncSeconds: must be more than 0/, /logLevel: must be one of/]],
  ];
  for (const [text, messages] of cases) {
    const path = configFile(text);
    const result = readUnderpinConfig(path);
    t.notOk(result.ok, text.trim());
    if (result.ok) continue;
    for (const message of messages) t.match(result.error, message, text.trim());
    for (const line of result.error.split('\n')) t.ok(line.startsWith(`config file ${path}: `), 'every line names the file');
    // Both processes refuse it the same way.
    const webhook = parseWebhookOptions([`--config=${path}`], {});
    const reconciler = parseReconcilerOptions([`--config=${path}`], {}, 'id');
    t.ok(!webhook.ok && !reconciler.ok && webhook.error === result.error && reconciler.error === result.error, 'same message from both processes');
  }
  const plusN = readUnderpinConfig(configFile('defaultExtraAddresses: "+2"\n'));
  t.ok(plusN.ok && plusN.config.defaultExtraAddresses === 2, '"+2", as in ippool-ip-number, reads as 2');
  const missing = readUnderpinConfig(join(dir, 'absent.yaml'));
  t.ok(!missing.ok && /cannot read it \(ENOENT\); mount the ConfigMap underpin-config there, or drop --config/.test(missing.error));
});

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', repoPath(script), ...args], { env: { PATH: process.env.PATH }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('each process stops at start-up, non-zero, with the message; --help shows the precedence', async (t) => {
  const path = configFile('defaultExtraAddresses: many\n');
  const [webhook, reconciler, help] = await Promise.all([
    run('webhook/main.ts', [`--config=${path}`]),
    run('reconciler/main.ts', [`--config=${path}`]),
    run('reconciler/main.ts', ['--help']),
  ]);
  t.equal(webhook.code, 2);
  t.match(webhook.stderr, `underpin-webhook: config file ${path}: defaultExtraAddresses: must be a whole number of addresses (got "many")`);
  t.equal(reconciler.code, 2);
  t.match(reconciler.stderr, `underpin-reconciler: config file ${path}: defaultExtraAddresses: must be a whole number of addresses (got "many")`);
  t.equal(help.code, 0);
  t.match(help.stdout, /flag, else the --config file, else its default/);
  t.match(help.stdout, /--orphan-claim-ttl-seconds N[\s\S]*\(config: orphanClaimTtlSeconds\)/);
});
