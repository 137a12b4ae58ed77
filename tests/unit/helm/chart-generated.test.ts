import t from 'tap';
import { generatedFilesOnDisk, renderHelmChart } from '../../../hack/dev/render-helm-chart.js';

t.test('the committed chart is what manifests/ generates', async (t) => {
  const expected = renderHelmChart();
  const onDisk = generatedFilesOnDisk();
  t.same([...onDisk.keys()].sort(), [...expected.keys()].sort(), 'stale file list under charts/underpin: run `npm run manifests`');
  for (const [path, content] of expected) t.equal(onDisk.get(path), content, `charts/underpin/${path} is stale: run \`npm run manifests\``);
});
