import type { BaseConfig } from '@mosis/shared';

/** What every ops subcommand receives: parsed arguments, the validated config, and output streams. */
export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
  config: BaseConfig;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** One ops subcommand: a module exporting `usage` and `run`. */
export interface Command {
  usage: string;
  run(ctx: CommandContext): Promise<number>;
}
