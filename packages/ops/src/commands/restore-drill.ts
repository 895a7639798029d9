import { DATABASES, type DatabaseName } from '@mosis/shared';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../command.js';
import { checkDatabase } from '../database-check.js';
import { generations, livePath, replication, type Replication } from '../litestream.js';
import { formatPackageReport, packagesComplete, verifyPackages } from '../packages-backup.js';
import { databaseNames, restoreAll } from './restore.js';

/** Replica lag above which the drill fails (exit 1), so that a cron job or a monitor can alert on it. */
export const DEFAULT_MAX_LAG_SECONDS = 60;

export const usage = `restore-drill [--config PATH] [--max-lag SECONDS]
    restore both databases into a temporary directory, verify them, report each replica's lag and
    the rows a restore right now would lose, and check the SHA-256 of every package backup copy
    the restored portal.db needs; exit 1 if a check fails or a lag exceeds --max-lag
    (default ${DEFAULT_MAX_LAG_SECONDS} s). Safe while the services run.`;

/** `ops restore-drill`: proves the backups restore, and says how far behind they are. */
export async function run(ctx: CommandContext): Promise<number> {
  const maxLagS = Number(ctx.values['max-lag'] ?? DEFAULT_MAX_LAG_SECONDS);
  if (!Number.isFinite(maxLagS) || maxLagS < 0) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  const dir = mkdtempSync(join(tmpdir(), 'mosis-restore-drill-'));
  try {
    // Lag first: the restore below reads the replicas as they are now, or a little later.
    const current = new Map(
      await Promise.all(
        databaseNames().map(async (name) => {
          const gens = await generations(r, name);
          return [name, gens.sort((a, b) => b.end.getTime() - a.end.getTime())[0]] as const;
        }),
      ),
    );
    const started = performance.now();
    const restored = await restoreAll(r, dir);
    const seconds = (performance.now() - started) / 1000;
    ctx.out(`restored both databases from ${r.backupDir} in ${seconds.toFixed(1)} s`);

    let ok = true;
    for (const name of databaseNames()) {
      const file = DATABASES[name].file;
      const gen = current.get(name);
      const report = restored.get(name)!;
      const lagS = gen ? Math.max(0, gen.lagMs) / 1000 : Infinity;
      ok &&= report.integrity === 'ok' && lagS <= maxLagS;
      ctx.out(`${file}: integrity_check ${report.integrity}`);
      ctx.out(
        gen
          ? `  replica ${gen.replica}, generation ${gen.generation}, last replicated ${gen.end.toISOString()}, lag ${lagS.toFixed(1)} s` +
              (lagS > maxLagS ? ` (over ${maxLagS} s)` : '')
          : '  no replica generation found',
      );
      ctx.out(`  a restore now would lose: ${describeLoss(r, name, report.rows)}`);
    }
    // What `ops restore` would copy into DATA_DIR/packages: every package the restored portal.db lists.
    const packages = await verifyPackages(r.backupDir, join(dir, DATABASES.portal.file));
    for (const line of formatPackageReport(packages, join(r.backupDir, 'packages'))) ctx.out(line);
    ok &&= packagesComplete(packages);
    ctx.out(ok ? 'drill passed' : 'drill FAILED');
    return ok ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows the live database has that the restored copy lacks, per table (counts, not identities). */
function describeLoss(r: Replication, name: DatabaseName, restored: Record<string, number>): string {
  const path = livePath(r, name);
  if (!existsSync(path)) return 'unknown (no live database to compare with)';
  const live = checkDatabase(path, { integrity: false }).rows;
  const missing = Object.entries(live)
    .map(([table, n]) => [table, n - (restored[table] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  return missing.length ? missing.map(([table, n]) => `${n} rows of ${table}`).join(', ') : 'nothing (every table has all its rows)';
}
