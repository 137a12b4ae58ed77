// Underpin's Spider* CRDs against Spiderpool's (upstream-spiderpool-crds.ts): the same
// printer columns, every upstream field of both API generations (before and after
// v1.0) in the schema, nothing required that upstream leaves optional, and no field of
// Underpin's own in Spiderpool's group. Differences on purpose are listed here and in
// docs/spiderpool-differences.md.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { repoPath } from '../../../hack/repo-paths.js';
import { UPSTREAM_CRDS, type PrinterColumn } from './upstream-spiderpool-crds.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface CrdVersion {
  name: string;
  additionalPrinterColumns?: (PrinterColumn & { priority?: number })[];
  schema: { openAPIV3Schema: Schema };
}

function readCrd(file: string): { kind: string; versions: CrdVersion[] } {
  const docs = parseAllDocuments(readFileSync(repoPath('manifests', 'crds', file), 'utf8')).map((d) => d.toJS());
  const crd = docs.find((d) => d?.kind === 'CustomResourceDefinition');
  return { kind: crd.spec.names.kind, versions: crd.spec.versions };
}

/** Every field path of a schema, `[]` marking list items: spec, spec.routes, spec.routes[], spec.routes[].dst, … */
function fieldPaths(schema: Schema, prefix = ''): Map<string, Schema> {
  const out = new Map<string, Schema>();
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    out.set(path, child);
    for (const [p, s] of fieldPaths(child, path)) out.set(p, s);
    if (child.items) {
      out.set(`${path}[]`, child.items);
      for (const [p, s] of fieldPaths(child.items, `${path}[]`)) out.set(p, s);
    }
  }
  return out;
}

const ROOT_META = new Set(['apiVersion', 'kind', 'metadata']);

/** Columns where Underpin reads a different path on purpose, and why (see the CRD file's header). */
const COLUMN_PATH_ON_PURPOSE: Record<string, { column: string; jsonPath: string }> = {
  SpiderIPPool: {
    column: 'APP-NAMESPACE',
    // Spiderpool's auto pools carry this label too; the podAffinity matchLabel upstream
    // reads is one only Spiderpool's own auto pools have.
    jsonPath: '.metadata.labels.ipam\\.spidernet\\.io/owner-application-namespace',
  },
};

for (const upstream of UPSTREAM_CRDS) {
  t.test(`${upstream.kind} (${upstream.file})`, async (t) => {
    const crd = readCrd(upstream.file);
    t.equal(crd.kind, upstream.kind);
    t.same(crd.versions.map((v) => v.name), ['v2beta1'], 'one version, v2beta1, as upstream');
    const version = crd.versions[0]!;

    t.test('printer columns: upstream names, paths, types and priorities, in upstream order', async (t) => {
      const ours = (version.additionalPrinterColumns ?? []).map((c) => ({ name: c.name, jsonPath: c.jsonPath, type: c.type, priority: c.priority ?? 0 }));
      const onPurpose = COLUMN_PATH_ON_PURPOSE[upstream.kind];
      const expected = upstream.columns.map((c) => (onPurpose?.column === c.name ? { ...c, jsonPath: onPurpose.jsonPath } : c));
      t.same(ours, expected);
    });

    const ours = fieldPaths(version.schema.openAPIV3Schema);
    const upstreamPaths = [...upstream.fields, ...upstream.preV1Only];

    t.test('every upstream field, pre-1.0 ones included, is in the schema', async (t) => {
      t.same(upstreamPaths.filter((path) => !ours.has(path)), [], 'no upstream field is missing');
    });

    t.test('no field of our own in the Spiderpool group, and none left open', async (t) => {
      // A list of scalars (spec.ips[]) is known when the list is.
      const known = (path: string) => {
        const field = path.endsWith('[]') && !ours.get(path)?.properties ? path.slice(0, -2) : path;
        return upstreamPaths.some((u) => u === field || u.startsWith(`${field}.`) || u.startsWith(`${field}[]`));
      };
      const fields = [...ours.keys()].filter((path) => !ROOT_META.has(path));
      t.same(fields.filter((path) => !known(path)), [], 'every field is an upstream one');
      // An open object would take a typo silently (and kubectl's strict validation could not catch it).
      t.same(fields.filter((path) => ours.get(path)!['x-kubernetes-preserve-unknown-fields']), [], 'no field keeps unknown fields');
    });

    t.test('nothing required that upstream leaves optional', async (t) => {
      const requiredAt = (path: string) => (path === '' ? version.schema.openAPIV3Schema : ours.get(path))?.required ?? [];
      const extra = ['', ...ours.keys()].flatMap((path) =>
        requiredAt(path)
          .filter((name) => !(upstream.required[path] ?? []).includes(name))
          .map((name) => `${path || '(root)'}: ${name}`),
      );
      t.same(extra, [], 'the same required fields as upstream');
    });
  });
}

t.test('spec.vlan, removed by Spiderpool v1.0, stays optional', async (t) => {
  for (const upstream of UPSTREAM_CRDS.filter((u) => u.preV1Only.includes('spec.vlan'))) {
    const spec = readCrd(upstream.file).versions[0]!.schema.openAPIV3Schema.properties!.spec!;
    t.equal(spec.properties?.vlan?.type, 'integer', `${upstream.kind}: spec.vlan is an integer`);
    t.notOk(spec.required?.includes('vlan'), `${upstream.kind}: spec.vlan is not required`);
  }
});
