// The set-up the node-lab tests share: the lab's namespaces, the plugin executables,
// and a stub API server the plugins reach from inside the node, all torn down with
// the test.
import type { Test } from 'tap';
import { NodeLab } from './node-lab.js';
import { pluginBinaries, type PluginBinaries } from './plugin-binaries.js';
import { startStubApi, type StubApi } from './stub-api-server.js';

export async function startNodeLab(t: Test): Promise<{ lab: NodeLab; bins: PluginBinaries; api: StubApi }> {
  const lab = new NodeLab();
  const bins = await pluginBinaries();
  t.teardown(() => lab.cleanup());
  lab.setUp();
  const api = await startStubApi();
  t.teardown(async () => {
    await api.close();
    bins.cleanup();
  });
  await lab.relayIntoNode(api.port);
  return { lab, bins, api };
}
