// The controller's containers run node with the flags the local install uses
// (hack/dev/underpin-install.ts), so what tests and benchmarks measure is what runs.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CONTROLLER_NODE_FLAGS } from '../../hack/dev/underpin-install.js';
import { repoPath } from '../../hack/repo-paths.js';

const deployment = parseAllDocuments(readFileSync(repoPath('manifests', 'controller', 'deployment.yaml'), 'utf8'))
  .map((doc) => doc.toJS() as { kind?: string; spec?: { template: { spec: { containers: { name: string; args: string[] }[] } } } })
  .find((doc) => doc?.kind === 'Deployment');

t.ok(deployment, 'the controller Deployment');
for (const container of deployment?.spec?.template.spec.containers ?? []) {
  t.test(`${container.name}: node's flags, then the script`, async (t) => {
    const script = container.args.findIndex((arg) => arg.startsWith('dist/'));
    t.same(container.args.slice(0, script), CONTROLLER_NODE_FLAGS);
  });
}
