// Two control planes at once (test files run in parallel) must not collide.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalControlPlane } from '../../hack/control-plane/control-plane.js';
import { runKubectl } from '../../hack/control-plane/kubectl.js';
import { isAlive } from '../../hack/processes.js';

t.test('two local control planes run side by side with their own ports and data', async (t) => {
  const planes = await Promise.all(
    [1, 2].map(() => LocalControlPlane.start({ dir: mkdtempSync(join(tmpdir(), 'underpin-pair-')), controllers: false })),
  );
  t.teardown(() => Promise.all(planes.map((p) => p.stop({ removeData: true }))));
  const [a, b] = planes as [LocalControlPlane, LocalControlPlane];
  const portsA = Object.values(a.state.ports);
  t.notOk(Object.values(b.state.ports).some((p) => portsA.includes(p)), 'no shared port');

  // A namespace made in one is not seen by the other: separate etcd data.
  const kubectl = (plane: LocalControlPlane, args: string[]) => runKubectl(plane.binaries.kubectl, plane.kubeconfig, args);
  t.equal((await kubectl(a, ['create', 'namespace', 'only-in-a'])).code, 0);
  t.equal((await kubectl(a, ['get', 'namespace', 'only-in-a'])).code, 0);
  t.not((await kubectl(b, ['get', 'namespace', 'only-in-a'])).code, 0);

  await a.stop();
  for (const p of a.state.processes) t.notOk(isAlive(p.pid), `${p.name} of the first stopped`);
  t.equal((await kubectl(b, ['get', 'namespaces'])).code, 0, 'the second still serves');
});
