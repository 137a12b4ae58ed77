// A TCP round-robin balancer on loopback: the local cluster's stand-in for the
// Service in front of the webhook's replicas. TLS passes through untouched, so
// the API server still verifies each replica's certificate.
//   node dist/hack/dev/loopback-balancer.js --port 9443 --backend 127.0.0.1:9444 --backend 127.0.0.1:9445
import { connect, createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const Backend = z.string().regex(/^127\.\d+\.\d+\.\d+:\d+$/, 'backends must be loopback host:port');
const Options = z.object({
  port: z.coerce.number().int().min(1).max(65535),
  backends: z.array(Backend).min(1, 'give at least one --backend'),
});

export function startBalancer(port: number, backends: string[]): Promise<() => Promise<void>> {
  let next = 0;
  const sockets = new Set<Socket>();
  // noDelay: admission requests are small request/response exchanges; Nagle's
  // algorithm would hold each one back waiting for an ACK.
  const server = createServer({ noDelay: true }, (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    // Try each backend once, starting with the next in turn: a replica that is down is skipped.
    const tryBackend = (attempt: number) => {
      const [host, portText] = backends[(next + attempt) % backends.length]!.split(':') as [string, string];
      const upstream = connect({ host, port: Number(portText), noDelay: true });
      upstream.once('connect', () => {
        next = (next + attempt + 1) % backends.length;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
      upstream.once('error', () => (attempt + 1 < backends.length ? tryBackend(attempt + 1) : client.destroy()));
    };
    tryBackend(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve(
        () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      ),
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, backend: { type: 'string', multiple: true } } });
  const parsed = Options.safeParse({ port: values.port, backends: values.backend ?? [] });
  if (!parsed.success) {
    console.error(`loopback-balancer: ${parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; ')}`);
    process.exit(2);
  }
  const stop = await startBalancer(parsed.data.port, parsed.data.backends);
  console.log(`balancing 127.0.0.1:${parsed.data.port} over ${parsed.data.backends.join(', ')}`);
  const shutdown = () => void stop().then(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

// Run as a process (the local cluster), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
