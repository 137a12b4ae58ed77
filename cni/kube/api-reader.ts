// Read-only access to the Kubernetes API for the CNI plugins: a GET over one
// keep-alive HTTPS connection, retried briefly when the API cannot be reached.
// The plugins never write: this type has no method that could.
import type http from 'node:http';
import { CniCode, CniError } from '../skel/cni-error.js';
import type { ApiConnection } from './kubeconfig.js';

export interface ApiReply {
  status: number;
  body: string;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  tries: number;
  /** Wait before the second try; doubles each time. */
  firstDelayMs: number;
  /** Limit for one try, connection included. */
  tryTimeoutMs: number;
  /** Limit for all tries together. */
  totalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { tries: 3, firstDelayMs: 150, tryTimeoutMs: 700, totalMs: 2000 };

type HttpModule = Pick<typeof http, 'request' | 'Agent'>;

export class ApiReader {
  private readonly agent: http.Agent;
  private readonly url: URL;

  /**
   * node:http(s) is loaded here, not at start-up: the executable's V8 snapshot is
   * built without it (Node cannot snapshot it), and DEL and VERSION never need it.
   */
  static async open(connection: ApiConnection, retry: RetryPolicy = DEFAULT_RETRY): Promise<ApiReader> {
    const client: HttpModule = connection.server.startsWith('https:') ? await import('node:https') : await import('node:http');
    return new ApiReader(connection, retry, client);
  }

  private constructor(
    private readonly connection: ApiConnection,
    private readonly retry: RetryPolicy,
    private readonly client: HttpModule,
  ) {
    this.url = new URL(connection.server);
    const agentOptions = { keepAlive: true, maxSockets: 1 };
    const https = client as typeof import('node:https');
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({
            ...agentOptions,
            ...(connection.ca ? { ca: connection.ca } : {}),
            ...(connection.cert ? { cert: connection.cert } : {}),
            ...(connection.key ? { key: connection.key } : {}),
            ...(connection.serverName ? { servername: connection.serverName } : {}),
            rejectUnauthorized: !connection.insecureSkipTLSVerify,
          })
        : new client.Agent(agentOptions);
  }

  /** GET `path`; a reply of any status is returned, an unreachable API after the last try throws code 11. */
  async get(path: string): Promise<ApiReply> {
    const started = Date.now();
    let delay = this.retry.firstDelayMs;
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.retry.tries; attempt++) {
      const left = this.retry.totalMs - (Date.now() - started);
      if (left <= 0) break;
      try {
        const reply = await this.once(path, Math.min(this.retry.tryTimeoutMs, left));
        // Overload and outage replies are worth another try; everything else is an answer.
        if (reply.status !== 429 && reply.status !== 502 && reply.status !== 503 && reply.status !== 504) return reply;
        lastProblem = `HTTP ${reply.status}`;
      } catch (error) {
        lastProblem = describeNetworkError(error);
      }
      if (attempt < this.retry.tries) {
        const wait = Math.min(delay, this.retry.totalMs - (Date.now() - started));
        if (wait <= 0) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
        delay *= 2;
      }
    }
    throw new CniError(
      CniCode.tryAgainLater,
      `cannot reach the Kubernetes API at ${this.connection.server} (${lastProblem}) after ${this.retry.tries} tries in ${Date.now() - started} ms; ` +
        `check that the API server is reachable from this node and that ${this.connection.source} points at it`,
    );
  }

  close(): void {
    this.agent.destroy();
  }

  private once(path: string, timeoutMs: number): Promise<ApiReply> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'underpin-cni' };
    if (this.connection.token) headers.authorization = `Bearer ${this.connection.token}`;
    const client = this.client;
    const base = this.url.pathname.replace(/\/+$/, '');
    return new Promise((resolve, reject) => {
      const request = client.request(
        { protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, path: base + path, method: 'GET', headers, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', reject);
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end();
    });
  }
}

function describeNetworkError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ECONNREFUSED') return 'connection refused';
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `host not found (${e.code})`;
  if (e.code === 'ECONNRESET') return 'connection reset';
  if (e.code && /CERT|SELF_SIGNED|UNABLE_TO/.test(e.code)) return `TLS: ${e.message}; check certificate-authority in the kubeconfig`;
  return e.message ?? String(error);
}
