// One image build at a time per cache: buildah's storage has its own locks, but the
// stamps, archives and package downloads beside it do not, and tap runs two test
// files at once. The lock is a file holding the builder's pid, created with the
// exclusive flag; a lock whose process is gone is taken over.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isAlive, sleep } from '../processes.js';

const POLL_MS = 500;
/** A lock file still empty after this long lost its writer between create and write. */
const EMPTY_LOCK_STALE_MS = 10_000;

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryLock(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the image build lock ${file}`, { cause: error });
  }
  const holder = holderOf(file);
  if (holder === undefined) {
    // Being written right now, released meanwhile, or left empty by a crash.
    try {
      if (Date.now() - statSync(file).mtimeMs > EMPTY_LOCK_STALE_MS) rmSync(file, { force: true });
    } catch {
      // gone already: the next poll takes it
    }
    return false;
  }
  if (isAlive(holder)) return false; // another build (or another build of this process)
  rmSync(file, { force: true }); // its builder died; the next poll takes it with 'wx'
  return false;
}

/** Runs `work` holding the lock; says once that it waits when another build holds it. */
export async function withBuildLock<T>(file: string, work: () => Promise<T>, log: (line: string) => void): Promise<T> {
  let told = false;
  while (!tryLock(file)) {
    if (!told) log(`waiting for another image build (pid ${holderOf(file) ?? '?'} holds ${file})`);
    told = true;
    await sleep(POLL_MS);
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}
