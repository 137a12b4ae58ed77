// The real node's only ways in and out. The node lives in a network namespace with
// no route anywhere (see node-network.ts), so nothing it runs can send a packet off
// the machine. The two directions the cluster needs cross the namespace boundary as
// Unix sockets, which are files, not packets:
//
//   node → API server   kubelet and hostNetwork pods dial the API server at the
//                       `kubernetes` Service address (and 127.0.0.1:6443) inside the
//                       node; a forwarder there carries each connection over a Unix
//                       socket to a relay on the host, which dials 127.0.0.1.
//   API server → node   the API server's "cluster" egress (kubelet for logs/exec,
//                       Service webhooks) is an HTTP CONNECT proxy on a Unix socket
//                       (EgressSelectorConfiguration, as konnectivity serves it); the
//                       proxy runs inside the node and connects only to the node's
//                       own addresses.
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

export type Endpoint = { host: string; port: number } | { path: string };

function dial(to: Endpoint): Socket {
  return 'path' in to ? connect({ path: to.path }) : connect({ host: to.host, port: to.port, noDelay: true });
}

function describe(at: Endpoint): string {
  return 'path' in at ? at.path : `${at.host}:${at.port}`;
}

function listen(server: Server, at: Endpoint): Promise<void> {
  if ('path' in at) rmSync(at.path, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`listening on ${describe(at)}: ${error.message}`, { cause: error })));
    if ('path' in at) server.listen(at.path, resolve);
    else server.listen(at.port, at.host, resolve);
  });
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', close).once('close', close);
  b.once('error', close).once('close', close);
}

/** Accept on `at` and splice every connection to a new one to `to`. */
export async function forward(at: Endpoint, to: Endpoint): Promise<Server> {
  const server = createServer({ noDelay: true }, (client) => pipeBoth(client, dial(to)));
  await listen(server, at);
  return server;
}

const MAX_CONNECT_HEAD = 8 * 1024;

/**
 * An HTTP CONNECT proxy on `at` that opens tunnels only to `allowedHosts` (IP
 * literals: the node's own addresses). Anything else gets 403, so the API server
 * can never be made to reach another address through it.
 */
export async function connectProxy(at: Endpoint, allowedHosts: ReadonlySet<string>, log: (line: string) => void = () => {}): Promise<Server> {
  const server = createServer((client) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_CONNECT_HEAD) {
          client.off('data', onData);
          refuse(client, 431, 'request head too large');
        }
        return;
      }
      client.off('data', onData);
      // Hold what the client sends next until the tunnel is up.
      client.pause();
      const [requestLine = ''] = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const match = /^CONNECT (\S+):(\d+) HTTP\/1\.[01]$/.exec(requestLine) ?? /^CONNECT \[(\S+)\]:(\d+) HTTP\/1\.[01]$/.exec(requestLine);
      if (!match) return refuse(client, 400, `expected "CONNECT host:port HTTP/1.1", got ${JSON.stringify(requestLine.slice(0, 100))}`);
      const [, host = '', portText = ''] = match;
      const port = Number(portText);
      if (port < 1 || port > 65535) return refuse(client, 400, `port ${portText} is not 1-65535`);
      if (isIP(host) === 0 || !allowedHosts.has(host)) {
        log(`refused CONNECT ${host}:${port}: not one of this node's addresses (${[...allowedHosts].join(', ')})`);
        return refuse(client, 403, `${host} is not an address of this node`);
      }
      const upstream = connect({ host, port, noDelay: true });
      const abandon = () => upstream.destroy();
      client.once('close', abandon);
      upstream.once('connect', () => {
        client.off('close', abandon);
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (rest.length > 0) upstream.write(rest);
        pipeBoth(client, upstream);
        client.resume();
      });
      upstream.once('error', (error) => refuse(client, 502, `${host}:${port}: ${error.message}`));
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
  await listen(server, at);
  return server;
}

function refuse(client: Socket, status: number, reason: string): void {
  client.end(`HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, ' ')}\r\nContent-Length: 0\r\n\r\n`);
}
