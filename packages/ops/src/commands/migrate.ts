import {
  DATABASES,
  databasePath,
  migrateDown,
  migrateUp,
  migrationStatus,
  openDatabase,
  type DatabaseName,
} from '@mosis/shared';
import type { CommandContext } from '../command.js';

export const usage = `migrate up|down|status --db portal|telemetry [--to NAME|0]
    up       apply every pending migration
    down     revert the last migration; --to NAME reverts NAME and all after it, --to 0 reverts all
    status   list applied and pending migrations`;

/** `ops migrate`: runs a database's migrations by hand (the services also migrate at start). */
export async function run(ctx: CommandContext): Promise<number> {
  const [action] = ctx.positionals;
  const name = ctx.values.db as DatabaseName | undefined;
  if (!action || !['up', 'down', 'status'].includes(action) || !name || !(name in DATABASES)) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const db = openDatabase(databasePath(ctx.config.DATA_DIR, name), { litestream: ctx.config.LITESTREAM });
  try {
    const opts = DATABASES[name].migrations;
    if (action === 'status') {
      const { executed, pending } = await migrationStatus(db, opts);
      for (const m of executed) ctx.out(`applied  ${m}`);
      for (const m of pending) ctx.out(`pending  ${m}`);
      return 0;
    }
    if (action === 'up') {
      const applied = await migrateUp(db, opts);
      ctx.out(applied.length ? applied.map((m) => `applied  ${m}`).join('\n') : 'nothing to apply');
      return 0;
    }
    const to = ctx.values.to as string | undefined;
    const reverted = await migrateDown(db, opts, to === undefined ? undefined : to === '0' ? 0 : to);
    ctx.out(reverted.length ? reverted.map((m) => `reverted ${m}`).join('\n') : 'nothing to revert');
    return 0;
  } finally {
    db.close();
  }
}
