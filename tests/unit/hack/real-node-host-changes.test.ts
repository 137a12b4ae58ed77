// A real node's record of what it changed on the machine: whether a recorded node is
// still someone's (to wait for) or a leftover (to sweep).
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimHostChanges, nodeInUse, readHostChanges, type HostChanges } from '../../../hack/real-node/host-changes.js';

const changes = (over: Partial<HostChanges>): HostChanges => ({
  node: 'real-node-1',
  netns: 'underpin-real-node-1',
  cgroupRoot: '/underpin-real-node-1',
  sysctls: {},
  createdDirs: [],
  dir: '/tmp/x',
  owner: { pid: process.pid, persistent: false },
  hostProcesses: [],
  ...over,
});

t.test('in use while its starter lives, or while the supervisor of a node started to outlive it runs', async (t) => {
  const child = spawn('sleep', ['30']);
  t.teardown(() => child.kill());
  const dead = 2 ** 22 + 1; // above pid_max's default: no such process
  t.ok(nodeInUse(changes({})), 'a start under way (no supervisor yet) is its starter\'s');
  t.ok(nodeInUse(changes({ supervisorPid: dead })), 'its starter lives: it will stop the node itself');
  t.notOk(nodeInUse(changes({ supervisorPid: child.pid!, owner: { pid: dead, persistent: false } })), 'a test killed mid-run: its node is a leftover');
  t.notOk(nodeInUse(changes({ owner: { pid: dead, persistent: true } })), 'dev:up died before its supervisor started: a leftover');
  t.ok(nodeInUse(changes({ supervisorPid: child.pid!, owner: { pid: dead, persistent: true } })), 'dev:up exited long ago, its node is still the developer\'s');
});

t.test('of two claims of one node, exactly one wins', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'host-changes-')), 'real-node-1.json');
  t.ok(claimHostChanges(file, changes({ dir: '/tmp/a' })), 'the first claims it');
  t.notOk(claimHostChanges(file, changes({ dir: '/tmp/b' })), 'the second finds it taken');
  t.equal(readHostChanges(file)?.dir, '/tmp/a', 'and the record is the first one\'s, whole');
});

t.test('a damaged record is named with what to do, not swept blindly', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'host-changes-')), 'real-node-1.json');
  t.equal(readHostChanges(file), undefined, 'no record: nothing to sweep');
  writeFileSync(file, '{"node": 1}');
  t.throws(() => readHostChanges(file), /is not a real node.s record of host changes \(node: .*\); remove it after checking `ip netns list` and \/sys\/fs\/cgroup by hand/);
});
