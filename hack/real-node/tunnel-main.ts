// The real node's tunnel processes (see tunnel.ts):
//   node dist/hack/real-node/tunnel-main.js host-relay --listen /path/api.sock --to 127.0.0.1:6443
//   node dist/hack/real-node/tunnel-main.js node-proxy --api-unix /path/api.sock \
//        --api-listen 10.96.0.1:443 --api-listen 127.0.0.1:6443 --egress-unix /path/egress.sock --allow 10.254.0.2
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { connectProxy, forward } from './tunnel.js';

const HostPort = z
  .string()
  .regex(/^\d+\.\d+\.\d+\.\d+:\d+$/, 'expected IPv4:port')
  .transform((text) => {
    const [host = '', port = ''] = text.split(':');
    return { host, port: Number(port) };
  });
const SocketPath = z.string().min(1).max(107, 'a Unix socket path is at most 107 bytes');

const HostRelay = z.object({ mode: z.literal('host-relay'), listen: SocketPath, to: HostPort.refine((e) => e.host.startsWith('127.'), 'the relay dials loopback only') });
const NodeProxy = z.object({
  mode: z.literal('node-proxy'),
  apiUnix: SocketPath,
  apiListen: z.array(HostPort).min(1),
  egressUnix: SocketPath,
  allow: z.array(z.ipv4()).min(1),
});
const Options = z.discriminatedUnion('mode', [HostRelay, NodeProxy]);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string' },
    to: { type: 'string' },
    'api-unix': { type: 'string' },
    'api-listen': { type: 'string', multiple: true },
    'egress-unix': { type: 'string' },
    allow: { type: 'string', multiple: true },
  },
});
const parsed = Options.safeParse({
  mode: positionals[0],
  listen: values.listen,
  to: values.to,
  apiUnix: values['api-unix'],
  apiListen: values['api-listen'] ?? [],
  egressUnix: values['egress-unix'],
  allow: values.allow ?? [],
});
if (!parsed.success) {
  console.error(`tunnel: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'mode'}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const options = parsed.data;
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
if (options.mode === 'host-relay') {
  await forward({ path: options.listen }, options.to);
  log(`relaying ${options.listen} → ${options.to.host}:${options.to.port}`);
} else {
  for (const at of options.apiListen) {
    await forward(at, { path: options.apiUnix });
    log(`forwarding ${at.host}:${at.port} → ${options.apiUnix}`);
  }
  await connectProxy({ path: options.egressUnix }, new Set(options.allow), log);
  log(`egress proxy on ${options.egressUnix} for ${options.allow.join(', ')}`);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
