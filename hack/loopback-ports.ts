// Free TCP ports on 127.0.0.1 for local clusters, several of which run side by side.
//
// A port is chosen some seconds before its process binds it (etcd, then the API
// server, then the controllers). Two things could take it meanwhile:
// - an outgoing connection: the kernel picks their local ports from the ephemeral
//   range, so ports are chosen below it, where it never looks;
// - another cluster starting at the same moment: each chosen port is claimed by a
//   file under the temp directory, named by the port and holding the claimant's pid,
//   until that process exits.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from './processes.js';

const CLAIMS = join(tmpdir(), 'underpin-loopback-ports');
/** Below Linux's default ephemeral range (32768–60999), above common services. */
const RANGE = { first: 20000, last: 32767 };

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low && low > RANGE.first + 1000 ? low : RANGE.last + 1;
  } catch {
    return RANGE.last + 1; // not Linux: the default range
  }
}

/** Can a server bind 127.0.0.1:`port` now? (It is closed again at once.) */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Claim `port` for this process unless a live process holds it (the `wx` flag makes the claim atomic). */
function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (holder && isAlive(holder)) return false;
    writeFileSync(file, String(process.pid)); // its claimant is gone
    return true;
  }
}

/** `count` distinct ports that are free now and that nothing else is about to take. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  mkdirSync(CLAIMS, { recursive: true });
  const last = Math.min(RANGE.last, ephemeralStart() - 1);
  const ports: number[] = [];
  for (let attempts = 0; ports.length < count; attempts++) {
    if (attempts > 10_000) throw new Error(`no free port on 127.0.0.1 between ${RANGE.first} and ${last}`);
    const port = RANGE.first + Math.floor(Math.random() * (last - RANGE.first + 1));
    if (ports.includes(port) || !(await canListen(port)) || !claim(port)) continue;
    ports.push(port);
  }
  return ports;
}
