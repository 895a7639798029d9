import type { CommandContext } from '../command.js';
import { replication } from '../litestream.js';

export const usage = `litestream-config
    print the Litestream config in use: --config or LITESTREAM_CONFIG if given, else litestream.yml,
    or litestream-offsite-sftp.yml / -s3.yml when OFFSITE_* is set (checked first); for running
    litestream by hand: litestream restore -config "$(mosis-ops litestream-config)" ...`;

/** `ops litestream-config`: which config the entrypoint and the other commands use. */
export async function run(ctx: CommandContext): Promise<number> {
  ctx.out(replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined).configPath);
  return 0;
}
