import { DATABASES, type DatabaseName } from '@mosis/shared';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../command.js';
import { checkDatabase, formatRows, type DatabaseReport } from '../database-check.js';
import { copySecretTo } from '../device-secret.js';
import { replication, restoreTo, type Replication } from '../litestream.js';
import { formatPackageReport, packagesComplete, restorePackages } from '../packages-backup.js';

export const usage = `restore --to DIR [--config PATH]
    restore portal.db and telemetry.db from their newest replicas into DIR (a new place: the live
    files are not touched), then check PRAGMA integrity_check and print the rows of every table;
    the device-hash secret kept beside the replicas is copied along, and the package files the
    restored portal.db lists are copied from BACKUP_DIR/packages into DIR/packages, each checked
    against its SHA-256 (exit 1 if one is missing or corrupted)`;

/** `ops restore`: both databases from their replicas into a new directory, verified. */
export async function run(ctx: CommandContext): Promise<number> {
  const to = ctx.values.to as string | undefined;
  if (!to) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  const dir = resolve(to);
  const taken = databaseNames().filter((name) => existsSync(join(dir, DATABASES[name].file)));
  if (taken.length) {
    ctx.err(`ops restore: ${taken.map((n) => DATABASES[n].file).join(', ')} already in ${dir}: restore into an empty directory`);
    return 1;
  }
  ctx.out(`restoring from ${r.backupDir} (config ${r.configPath}) into ${dir}`);
  const reports = await restoreAll(r, dir);
  let ok = true;
  for (const [name, report] of reports) {
    ok &&= report.integrity === 'ok';
    ctx.out(`${DATABASES[name].file}: integrity_check ${report.integrity}`);
    for (const line of formatRows(report.rows)) ctx.out(line);
  }
  if (copySecretTo(r.backupDir, dir)) ctx.out(`device-hash.secret copied from ${r.backupDir}`);
  if (!ok) {
    ctx.out('restore FAILED the integrity check');
    return 1;
  }
  const packages = await restorePackages(r.backupDir, join(dir, DATABASES.portal.file), dir);
  for (const line of formatPackageReport(packages, join(dir, 'packages'))) ctx.out(line);
  ok = packagesComplete(packages);
  ctx.out(ok ? `restored both databases and their packages into ${dir}` : 'restore INCOMPLETE: packages missing or corrupted (above)');
  return ok ? 0 : 1;
}

/** Both database names, portal first. */
export function databaseNames(): DatabaseName[] {
  return Object.keys(DATABASES) as DatabaseName[];
}

/** Restores both databases into `dir` and checks each; throws if a replica is missing or unusable. */
export async function restoreAll(r: Replication, dir: string): Promise<Map<DatabaseName, DatabaseReport>> {
  mkdirSync(dir, { recursive: true });
  const reports = new Map<DatabaseName, DatabaseReport>();
  for (const name of databaseNames()) {
    const output = join(dir, DATABASES[name].file);
    await restoreTo(r, name, output);
    reports.set(name, checkDatabase(output));
  }
  return reports;
}
