// npm run images: builds every local image and prints the archives to import.
//
//   node dist/hack/images/main.js            (after npm run build or tsc)
//   ctr -n k8s.io images import <archive>    (on the node, for each)
import { buildImages } from './build-images.js';

const started = Date.now();
const log = (line: string) => console.error(`[images] ${line}`);
buildImages({ log })
  .then((archives) => {
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const { ref, archive, bytes } of Object.values(archives)) console.log(`${ref}\t${archive}\t${(bytes / 2 ** 20).toFixed(0)} MiB`);
  })
  .catch((error: unknown) => {
    console.error(`[images] ${(error as Error).message}`);
    process.exit(1);
  });
