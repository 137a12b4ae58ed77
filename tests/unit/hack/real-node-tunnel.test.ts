// The real node's tunnel, on loopback and Unix sockets: bytes pass both ways through
// a forward, and the CONNECT proxy opens tunnels only to the node's own addresses.
import t from 'tap';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectProxy, forward } from '../../../hack/real-node/tunnel.js';

function echoServer(): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function exchange(to: { path: string } | { host: string; port: number }, send: string, until: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in to ? connect(to.path) : connect(to.port, to.host);
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (until(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(send);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tunnel-'));

t.test('a forward from a Unix socket to TCP carries bytes both ways', async (t) => {
  const echo = await echoServer();
  const port = (echo.address() as AddressInfo).port;
  const relay = await forward({ path: join(dir, 'relay.sock') }, { host: '127.0.0.1', port });
  t.teardown(() => {
    relay.close();
    echo.close();
  });
  t.equal(await exchange({ path: join(dir, 'relay.sock') }, 'ping', (s) => s === 'ping'), 'ping');
});

t.test('CONNECT to an allowed address tunnels, bytes after the head included', async (t) => {
  const echo = await echoServer();
  const port = (echo.address() as AddressInfo).port;
  const proxy = await connectProxy({ path: join(dir, 'egress.sock') }, new Set(['127.0.0.1']));
  t.teardown(() => {
    proxy.close();
    echo.close();
  });
  const answer = await exchange({ path: join(dir, 'egress.sock') }, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nhello`, (s) => s.endsWith('hello'));
  t.match(answer, /^HTTP\/1\.1 200 /);
  t.ok(answer.endsWith('\r\n\r\nhello'), 'what followed the head reached the target and came back');
});

t.test('CONNECT anywhere else is refused without a connection attempt', async (t) => {
  const logged: string[] = [];
  const proxy = await connectProxy({ path: join(dir, 'egress2.sock') }, new Set(['10.254.0.2']), (line) => logged.push(line));
  t.teardown(() => proxy.close());
  const sock = { path: join(dir, 'egress2.sock') };
  const done = (s: string) => s.includes('\r\n\r\n');
  t.match(await exchange(sock, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n', done), /^HTTP\/1\.1 403 127\.0\.0\.1 is not an address of this node/);
  t.match(await exchange(sock, 'CONNECT real-node-1:10250 HTTP/1.1\r\n\r\n', done), /^HTTP\/1\.1 403 /, 'a hostname is never resolved');
  t.match(await exchange(sock, 'GET / HTTP/1.1\r\n\r\n', done), /^HTTP\/1\.1 400 /);
  t.match(await exchange(sock, 'CONNECT 10.254.0.2:70000 HTTP/1.1\r\n\r\n', done), /^HTTP\/1\.1 400 port 70000 is not 1-65535/, 'a port out of range is refused, the proxy lives on');
  t.match(await exchange(sock, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n', done), /^HTTP\/1\.1 403 /, 'and answers the next request');
  t.match(await exchange(sock, `CONNECT x:1 HTTP/1.1\r\n${'a'.repeat(9000)}`, done), /^HTTP\/1\.1 431 /);
  t.equal(logged.length, 3, 'each refused CONNECT is logged');
});
