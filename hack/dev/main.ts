// npm run dev:up [-- --real-node] / npm run dev:down
import { devDown, devUp } from './cluster.js';

const commands: Record<string, () => Promise<unknown>> = { up: () => devUp({ realNode: process.argv.includes('--real-node') }), down: devDown };
const command = process.argv[2];
const run = command ? commands[command] : undefined;
if (!run) {
  console.error('usage: node dist/hack/dev/main.js up [--real-node] | down');
  process.exit(2);
}
run().catch((error: unknown) => {
  console.error(`dev:${command}: ${(error as Error).message}`);
  process.exit(1);
});
