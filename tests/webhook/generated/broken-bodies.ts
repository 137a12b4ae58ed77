// Request bodies that are not AdmissionReviews, or barely: truncated JSON, a wrong
// type at every level, no uid, other encodings, huge arrays just under the body limit.
import { copyJson, stringifyDeep } from './json-tools.js';
import type { Rng } from './prng.js';
import { generateRequest, junkValue, type Json } from './spider-objects.js';

export interface BrokenBody {
  name: string;
  body: string | Buffer;
  contentType?: string;
  method?: string;
  /** Path relative to the webhook's admission path ('' for the path itself). */
  pathSuffix?: string;
}

type JsonObject = { [key: string]: Json };

function reviewOf(request: unknown): JsonObject {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: request as Json };
}

/** Sets the value at a dotted path, creating objects on the way; `undefined` deletes. */
function setPath(root: JsonObject, path: string, value: Json | undefined): void {
  const keys = path.split('.');
  let node: JsonObject = root;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
}

const LEVELS = [
  '',
  'apiVersion',
  'kind',
  'request',
  'request.uid',
  'request.kind',
  'request.kind.kind',
  'request.kind.group',
  'request.kind.version',
  'request.resource',
  'request.resource.resource',
  'request.name',
  'request.namespace',
  'request.subResource',
  'request.operation',
  'request.userInfo',
  'request.userInfo.username',
  'request.userInfo.groups',
  'request.object',
  'request.object.metadata',
  'request.object.spec',
  'request.object.spec.ips',
  'request.oldObject',
  'request.dryRun',
  'request.options',
];

const WRONG_TYPES: Json[] = [null, 0, -1.5, true, 'x', '', [], {}, [null], { a: {} }];

/** 700 KB of JSON: far bigger than any real review, inside the 1.5 MiB limit. */
const HUGE = 700_000;

export function brokenBodies(rng: Rng, count: number): BrokenBody[] {
  const valid = () => reviewOf(generateRequest(rng).request);
  const validText = () => stringifyDeep(valid());
  const out: BrokenBody[] = [];

  // A fixed set: every top-level shape, encoding and transport oddity once.
  const fixed: BrokenBody[] = [
    ...['', ' ', 'null', '[]', '1', '"review"', 'true', '{}', '{"request":{}}', '{"apiVersion":"admission.k8s.io/v1"}', '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}'].map((body) => ({ name: `body ${JSON.stringify(body)}`, body })),
    { name: 'BOM before the JSON', body: `\ufeff${validText()}` },
    { name: 'trailing garbage', body: `${validText()}x` },
    { name: 'two documents', body: `${validText()}\n${validText()}` },
    { name: 'comment', body: `/* c */${validText()}` },
    { name: 'NaN literal', body: validText().replace('"apiVersion"', '"n":NaN,"apiVersion"') },
    { name: 'single quotes', body: validText().replaceAll('"', "'") },
    { name: 'duplicate uid keys', body: validText().replace('"uid":', '"uid":"first","uid":') },
    { name: 'NUL bytes', body: validText().replace('"name":"', '"name":"\u0000') },
    { name: 'raw NUL outside strings', body: `${validText()}\u0000` },
    { name: 'invalid UTF-8', body: Buffer.concat([Buffer.from(validText().slice(0, 60)), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(validText().slice(60))]) },
    { name: 'UTF-16 body', body: Buffer.from(validText(), 'utf16le') },
    { name: 'lone surrogate escapes', body: validText().replace('"name":"', '"name":"\\ud800\\udfff\\ud800') },
    { name: '__proto__ key', body: validText().replace('"request":{', '"request":{"__proto__":{"uid":"x"},') },
    { name: 'constructor.prototype key', body: validText().replace('"request":{', '"request":{"constructor":{"prototype":{"uid":"x"}},') },
    { name: 'text/plain', body: validText(), contentType: 'text/plain' },
    { name: 'YAML content type', body: 'apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n', contentType: 'application/yaml' },
    { name: 'empty content type', body: validText(), contentType: '' },
    { name: 'latin1 charset', body: validText(), contentType: 'application/json; charset=latin1' },
    { name: 'utf-16 charset', body: validText(), contentType: 'application/json; charset=utf-16' },
    { name: 'a body over the limit', body: Buffer.alloc(1_600_000, ' ') },
    { name: 'GET on the admission path', body: '', method: 'GET' },
    { name: 'PUT on the admission path', body: validText(), method: 'PUT' },
    { name: 'an unknown path', body: validText(), pathSuffix: '/extra' },
    { name: 'deep array at the top', body: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    { name: 'deep object at the top', body: `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}` },
    { name: 'unclosed deep array', body: '['.repeat(200_000) },
    { name: 'huge top-level array', body: `[${'0,'.repeat(HUGE / 2)}0]` },
    { name: 'huge number', body: validText().replace('"dryRun":', '"big":1e99999,"dryRun":').replace('"request":{', `"request":{"n":${'9'.repeat(100_000)},`) },
    { name: 'uid of 700 KB', body: stringifyDeep(reviewOf({ ...(valid().request as JsonObject), uid: 'u'.repeat(HUGE) })) },
  ];
  out.push(...fixed);

  // Huge arrays under the limit, wherever an array goes.
  for (const [path, element] of [
    ['request.userInfo.groups', 'system:authenticated'],
    ['request.userInfo.groups', 7],
    ['request.object.spec.ips', 1],
    ['request.object.spec.ips', null],
    ['request.object.spec.routes', { dst: 1 }],
    ['request.object.spec.namespaceName', 'UPPER'],
    ['request.object.metadata.finalizers', 'underpin.dev/addresses-in-use'],
    ['request.object', 0],
  ] as const) {
    const review = valid();
    const size = stringifyDeep(element).length + 1;
    setPath(review, path, Array.from({ length: Math.floor(HUGE / size) }, () => copyJson(element as Json)));
    out.push({ name: `${path} holds ${Math.floor(HUGE / size)} × ${JSON.stringify(element)}`, body: stringifyDeep(review) });
  }
  {
    // Many distinct, valid, non-overlapping addresses: 10.6.0.0/16 in order, inside the limit.
    const review = reviewOf({ ...(valid().request as JsonObject), operation: 'CREATE', kind: { group: 'spiderpool.spidernet.io', version: 'v2beta1', kind: 'SpiderIPPool' } });
    const ips = Array.from({ length: 60_000 }, (_, i) => `10.7.${i >> 8}.${i & 255}`);
    setPath(review, 'request.object', { apiVersion: 'spiderpool.spidernet.io/v2beta1', kind: 'SpiderIPPool', metadata: { name: 'many-ips' }, spec: { subnet: '10.7.0.0/16', ips } });
    out.push({ name: '60,000 distinct addresses in spec.ips', body: stringifyDeep(review) });
  }

  // Random ones to fill up: truncations, a wrong type at every level, a missing uid.
  while (out.length < count) {
    const kind = rng.weighted<'truncate' | 'wrong type' | 'uid'>([
      [3, 'truncate'],
      [6, 'wrong type'],
      [1, 'uid'],
    ]);
    if (kind === 'truncate') {
      const text = validText();
      const cut = rng.int(0, text.length - 1);
      out.push({ name: `truncated at ${cut} of ${text.length}`, body: text.slice(0, cut) });
    } else if (kind === 'wrong type') {
      const review = valid();
      const path = rng.pick(LEVELS);
      const value = rng.chance(0.7) ? rng.pick(WRONG_TYPES) : junkValue(rng);
      if (path === '') {
        out.push({ name: `the whole body is ${JSON.stringify(value).slice(0, 40)}`, body: stringifyDeep(value) });
      } else {
        setPath(review, path, copyJson(value));
        out.push({ name: `${path} = ${JSON.stringify(value).slice(0, 40)}`, body: stringifyDeep(review) });
      }
    } else {
      const review = valid();
      const uid = rng.pick<Json | undefined>([undefined, '', null, 1, ['u'], { id: 'u' }, ' ']);
      setPath(review, 'request.uid', uid);
      out.push({ name: `request.uid = ${JSON.stringify(uid) ?? 'missing'}`, body: stringifyDeep(review) });
    }
  }
  return out;
}
