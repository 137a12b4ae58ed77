// Runs the external tools an image build needs (buildah, apt-get, dpkg-deb, npm,
// gcc) and turns a failure into an error that names the command and shows what it
// printed, since their own messages are the only clue to what went wrong.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Appends everything the command prints here (long builds), instead of only keeping it for the error. */
  logFile?: string;
  /** How to say what failed, e.g. "building localhost/underpin:dev". */
  doing?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

const TAIL_LINES = 40;

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
}

export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const keep = (chunk: Buffer, into: 'stdout' | 'stderr') => {
      const text = chunk.toString('utf8');
      if (into === 'stdout') stdout += text;
      else stderr += text;
      if (options.logFile) appendFileSync(options.logFile, text);
    };
    child.stdout.on('data', (chunk: Buffer) => keep(chunk, 'stdout'));
    child.stderr.on('data', (chunk: Buffer) => keep(chunk, 'stderr'));
    child.once('error', (error) => {
      const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ` (${file} is not installed)` : '';
      reject(new Error(`${options.doing ?? file} failed: could not run ${file}${hint}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve({ stdout, stderr });
      const where = options.logFile ? `; the whole output is in ${options.logFile}` : '';
      const printed = tail(`${stdout}\n${stderr}`);
      reject(new Error(`${options.doing ?? file} failed: ${file} ${args.join(' ')} exited ${code ?? signal}${where}\n${printed}`));
    });
  });
}
