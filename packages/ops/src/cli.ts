#!/usr/bin/env node
import { baseConfigSchema, ConfigError, loadConfig } from '@mosis/shared';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command, CommandContext } from './command.js';
import * as litestreamConfig from './commands/litestream-config.js';
import * as migrate from './commands/migrate.js';
import * as offsiteSync from './commands/offsite-sync.js';
import * as prune from './commands/prune.js';
import * as replicate from './commands/replicate.js';
import * as restoreDrill from './commands/restore-drill.js';
import * as restore from './commands/restore.js';
import * as review from './commands/review.js';
import * as rollup from './commands/rollup.js';
import * as stats from './commands/stats.js';
import * as telemetryMigrate from './commands/telemetry-migrate.js';

/** Every subcommand, one module each under commands/. */
export const COMMANDS: Record<string, Command> = {
  migrate,
  replicate,
  restore,
  'restore-drill': restoreDrill,
  'offsite-sync': offsiteSync,
  'litestream-config': litestreamConfig,
  rollup,
  prune,
  stats,
  review,
  'telemetry-migrate': telemetryMigrate,
};

/** Options any subcommand may take; each subcommand reads the ones it needs. */
const OPTIONS = {
  db: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  'dry-run': { type: 'boolean' },
  pull: { type: 'boolean' },
  config: { type: 'string' },
  'max-lag': { type: 'string' },
  notes: { type: 'string' },
  status: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP_USAGE = `help [COMMAND]
    this text, or the usage of one command (also: ops COMMAND --help)`;

/** Usage of every command: what `ops help` prints. */
export function usage(): string {
  return [
    'usage: ops <command> [options]   (from the repository: npm run ops -- <command> [options]; in the image: mosis-ops)',
    '',
    'commands:',
    ...[HELP_USAGE, ...Object.values(COMMANDS).map((c) => c.usage)].map((u) => '  ' + u.replaceAll('\n', '\n  ')),
    '',
    'Reads the same environment as the services (DATA_DIR, ...).',
  ].join('\n');
}

/** `ops help [COMMAND]` and `ops [COMMAND] --help`: usage on stdout, exit 0; an unknown command is exit 2. */
function help(topic: string | undefined, out: (line: string) => void, err: (line: string) => void): number {
  if (topic === undefined || topic === 'help') {
    out(usage());
    return 0;
  }
  const command = COMMANDS[topic];
  if (!command) {
    err(`ops: unknown command "${topic}"\n\n${usage()}`);
    return 2;
  }
  out(`usage: ops ${command.usage}`);
  return 0;
}

/** Runs one ops command line; returns the exit code. */
export async function runCli(argv: string[], out = console.log, err = console.error): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    err(`ops: ${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  const [name, ...positionals] = parsed.positionals;
  if (name === 'help') return help(positionals[0], out, err);
  if (parsed.values.help) return help(name, out, err);
  if (!name) {
    err(usage());
    return 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    err(`ops: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(baseConfigSchema);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`ops: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const ctx: CommandContext = { positionals, values: parsed.values, config, out, err };
  try {
    return await command.run(ctx);
  } catch (e) {
    err(`ops ${name}: ${(e as Error).message}`);
    // A bad OFFSITE_* (read by the commands that replicate) is bad usage, like a bad DATA_DIR above.
    return e instanceof ConfigError ? 2 : 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
