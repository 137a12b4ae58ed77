// A minimal HTTPS client for tests that talk to a webhook server on loopback.
import { request } from 'node:https';

export interface HttpsReply {
  status: number;
  body: string;
  json(): any;
}

export function httpsRequest(
  url: string,
  options: { ca: string; method?: string; body?: string | Buffer; contentType?: string },
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: options.ca,
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers: options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
