import { DATABASES, type DatabaseName } from '@mosis/shared';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../command.js';
import { checkDatabase } from '../database-check.js';
import { currentGenerations, generations, livePath, LOCAL_REPLICA, OFFSITE_REPLICA, replicaPlace, replication, requireReplicas, type Replication } from '../litestream.js';
import { localPackages, listOffsite } from '../offsite/packages.js';
import { databaseNames, restoreAll, restoredBytes } from './restore.js';
import { formatPackageReport, packagesComplete, verifyPackages } from '../packages-backup.js';

/** Replica lag above which the drill fails (exit 1), so that a cron job or a monitor can alert on it. */
export const DEFAULT_MAX_LAG_SECONDS = 60;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const usage = `restore-drill [--from file|offsite] [--config PATH] [--max-lag SECONDS]
    restore both databases into a temporary directory (from the newest replica, or --from one),
    verify them, report the restore rate (s per GiB), each replica's lag (the off-site one's too)
    and the rows a restore right now would lose, and check the SHA-256 of every package backup copy
    the restored portal.db needs; exit 1 if a check fails or a lag exceeds --max-lag
    (default ${DEFAULT_MAX_LAG_SECONDS} s). Safe while the services run.`;

/** `ops restore-drill`: proves the backups restore, and says how far behind they are. */
export async function run(ctx: CommandContext): Promise<number> {
  const maxLagS = Number(ctx.values['max-lag'] ?? DEFAULT_MAX_LAG_SECONDS);
  if (!Number.isFinite(maxLagS) || maxLagS < 0) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const from = ctx.values.from as string | undefined;
  if (from !== undefined && from !== LOCAL_REPLICA && from !== OFFSITE_REPLICA) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  await requireReplicas(r, databaseNames());
  const dir = mkdtempSync(join(tmpdir(), 'mosis-restore-drill-'));
  try {
    // Lag first: the restore below reads the replicas as they are now, or a little later.
    const current = new Map(
      await Promise.all(
        databaseNames().map(async (name) => {
          // Litestream measures lag against the live file; without one there is no lag to report.
          const gens = existsSync(livePath(r, name)) ? await generations(r, name) : [];
          return [name, currentGenerations(gens)] as const;
        }),
      ),
    );
    const started = performance.now();
    const restored = await restoreAll(r, dir, from);
    const seconds = (performance.now() - started) / 1000;
    // The restore rate gives the RTO of a database of any size (the README's RTO/RPO figures).
    const bytes = restoredBytes(dir);
    ctx.out(
      `restored both databases from ${from ? replicaPlace(r, from) : 'the newest replica'} in ${seconds.toFixed(1)} s: ` +
        `${(bytes / MiB).toFixed(1)} MiB at ${(bytes / MiB / seconds).toFixed(1)} MiB/s, ${((seconds * GiB) / bytes).toFixed(0)} s per GiB`,
    );

    let ok = true;
    for (const name of databaseNames()) {
      const file = DATABASES[name].file;
      const gens = current.get(name)!;
      const report = restored.get(name)!;
      ok &&= report.integrity === 'ok' && gens.size > 0;
      ctx.out(`${file}: integrity_check ${report.integrity}`);
      if (gens.size === 0) {
        ctx.out(existsSync(livePath(r, name)) ? '  no replica generation found' : `  lag unknown: no live database at ${livePath(r, name)}`);
      }
      for (const [replica, gen] of gens) {
        const lagS = Math.max(0, gen.lagMs) / 1000;
        ok &&= lagS <= maxLagS;
        ctx.out(
          `  replica ${replica} (${replicaPlace(r, replica)}), generation ${gen.generation}, last replicated ${gen.end.toISOString()}, lag ${lagS.toFixed(1)} s` +
            (lagS > maxLagS ? ` (over ${maxLagS} s)` : ''),
        );
      }
      ctx.out(`  a restore now would lose: ${describeLoss(r, name, report.rows)}`);
    }
    if (r.offsite?.kind === 'sftp') {
      const here = localPackages(r.dataDir);
      const there = (await listOffsite(r.offsite, { prefixes: new Set([...here.keys()].map((h) => h.slice(0, 2))) })).packages;
      const behind = [...here.keys()].filter((hash) => !there.has(hash)).length;
      ctx.out(`packages: ${here.size} files here, ${behind ? `${behind} not yet` : 'all'} off-site (copied every ${r.offsite.syncIntervalMs / 1000} s)`);
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
