// How Underpin's processes (webhook, reconciler) turn their command line, the
// settings file and the environment into validated options, the same way for both:
//
//   command-line flag  >  --config file (ConfigMap underpin-config)  >  environment  >  built-in default
//
// Each process lists its options (flag, key, where else a value may come from) and
// one zod schema for the result. A bad value is reported under the name the user
// typed it by: `--resync-seconds`, `config file …: resyncSeconds`, or `$POD_NAMESPACE`.
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { readUnderpinConfig, type UnderpinConfig, type UnderpinConfigKey } from './underpin-config.js';

export interface OptionSpec {
  /** Key in the options object. */
  key: string;
  /** Long flag without the dashes: `resync-seconds`. */
  flag: string;
  /** A flag without value (`--no-inject-ca-bundle`); `value` is what its presence sets. */
  presence?: { value: unknown };
  /** Also settable in config.yaml, under the same key. */
  configKey?: UnderpinConfigKey;
  /** Environment variable read when neither flag nor config file sets it (empty = unset). */
  env?: string;
  /** Computed default (e.g. from the host name), used before the schema's own default. */
  fallback?: () => unknown;
}

export interface ProcessSpec {
  usage: string;
  options: readonly OptionSpec[];
}

export type ParsedOptions<T> =
  | { ok: true; options: T; configFile?: string }
  /** `help`: --help was asked for; `error` is then the usage text, not a problem. */
  | { ok: false; error: string; help?: true };

/** Usage lines every process shares, aligned to the process's own (descriptions start at `column`). */
export function commonUsage(column: number): string {
  const line = (name: string, text: string) => `  ${name.padEnd(column - 2)}${text}`;
  return [line('--config FILE', 'settings file (YAML; in a cluster the ConfigMap underpin-config); flags win over it'), line('-h, --help', 'this text')].join('\n');
}

export const PRECEDENCE_NOTE = 'Each setting comes from its flag, else the --config file, else its default.';

type Source = { kind: 'flag'; name: string } | { kind: 'config'; file: string } | { kind: 'env'; name: string } | { kind: 'default' };

function describeSource(source: Source | undefined, key: string): string {
  switch (source?.kind) {
    case 'flag':
      return `--${source.name}`;
    case 'config':
      return `config file ${source.file}: ${key}`;
    case 'env':
      return `$${source.name}`;
    default:
      return key;
  }
}

export function parseProcessOptions<S extends z.ZodType>(spec: ProcessSpec, schema: S, argv: string[], env: NodeJS.ProcessEnv): ParsedOptions<z.output<S>> {
  const flags: Record<string, { type: 'string' | 'boolean'; short?: string }> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const option of spec.options) flags[option.flag] = { type: option.presence ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: flags }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    return { ok: false, error: `${(error as Error).message}\n${spec.usage}` };
  }
  if (values.help) return { ok: false, error: spec.usage, help: true };

  const configFile = typeof values.config === 'string' ? values.config : undefined;
  let config: UnderpinConfig = {};
  if (configFile !== undefined) {
    const read = readUnderpinConfig(configFile);
    if (!read.ok) return { ok: false, error: read.error };
    config = read.config;
  }

  const input: Record<string, unknown> = {};
  const sources = new Map<string, Source>();
  for (const option of spec.options) {
    const flagValue = values[option.flag];
    const envValue = option.env ? env[option.env] || undefined : undefined;
    const configValue = option.configKey ? config[option.configKey] : undefined;
    if (flagValue !== undefined) {
      input[option.key] = option.presence ? option.presence.value : flagValue;
      sources.set(option.key, { kind: 'flag', name: option.flag });
    } else if (configValue !== undefined) {
      input[option.key] = configValue;
      sources.set(option.key, { kind: 'config', file: configFile! });
    } else if (envValue !== undefined) {
      input[option.key] = envValue;
      sources.set(option.key, { kind: 'env', name: option.env! });
    } else if (option.fallback) {
      input[option.key] = option.fallback();
    }
  }

  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, options: parsed.data, ...(configFile !== undefined ? { configFile } : {}) };
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path[0];
    return typeof key === 'string' ? `${describeSource(sources.get(key), key)}: ${issue.message}` : issue.message;
  });
  return { ok: false, error: `${problems.join('\n')}\n${spec.usage}` };
}

/** The `main` side: print help or the problem and exit, or hand back the options. */
export function optionsOrExit<T>(program: string, parsed: ParsedOptions<T>): { options: T; configFile?: string } {
  if (!parsed.ok && parsed.help) {
    console.log(parsed.error);
    process.exit(0);
  }
  if (!parsed.ok) {
    console.error(parsed.error.split('\n').map((line, i) => (i === 0 ? `${program}: ${line}` : line)).join('\n'));
    process.exit(2);
  }
  return parsed;
}
