// npm run images: builds every local image and prints the archives to import.
//
//   node dist/hack/images/main.js            (after npm run build or tsc)
//   node dist/hack/images/main.js --clean    (removes the image cache, buildah's storage included)
//   ctr -n k8s.io images import <archive>    (on the node, for each)
import { buildImages } from './build-images.js';
import { cleanImageCache } from './clean-image-cache.js';

const started = Date.now();
const log = (line: string) => console.error(`[images] ${line}`);
const argument = process.argv[2];

async function main(): Promise<void> {
  if (argument === '--clean') return cleanImageCache(log);
  if (argument !== undefined) throw new Error(`unknown argument ${argument}; usage: node dist/hack/images/main.js [--clean]`);
  const archives = await buildImages({ log });
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const { ref, archive, bytes } of Object.values(archives)) console.log(`${ref}\t${archive}\t${(bytes / 2 ** 20).toFixed(0)} MiB`);
}

main().catch((error: unknown) => {
  console.error(`[images] ${(error as Error).message}`);
  process.exit(1);
});
