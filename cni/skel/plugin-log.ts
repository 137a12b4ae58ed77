// A plugin's own log: one JSON line per event, appended to the file the network
// configuration names (log_file_path). No file named, no log: stdout is the
// protocol, and the runtime already records the error a failing call prints.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export function parseLogLevel(text: string | undefined): LogLevel {
  const lower = (text ?? 'info').toLowerCase();
  if (lower === 'warning') return 'warn';
  return lower in LEVELS ? (lower as LogLevel) : 'info';
}

export class PluginLog {
  constructor(
    private readonly file: string | undefined,
    private readonly level: LogLevel,
    private readonly base: Record<string, unknown>,
  ) {}

  static none(): PluginLog {
    return new PluginLog(undefined, 'error', {});
  }

  write(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (this.file === undefined || LEVELS[level] < LEVELS[this.level]) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...this.base, ...fields }) + '\n';
    try {
      appendFileSync(this.file, line);
    } catch {
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        appendFileSync(this.file, line);
      } catch {
        // a log that cannot be written must not fail the pod
      }
    }
  }
}
