import { DATABASES, type DatabaseName } from '@mosis/shared';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../command.js';
import { checkDatabase, formatRows, type DatabaseReport } from '../database-check.js';
import { copySecretTo } from '../device-secret.js';
import { LOCAL_REPLICA, OFFSITE_REPLICA, replicaPlace, replication, requireReplicas, restoreTo, type Replication } from '../litestream.js';
import { restoreFromOffsite } from '../offsite/packages.js';
import { formatPackageReport, packagesComplete, restorePackages } from '../packages-backup.js';

export const usage = `restore --to DIR [--from file|offsite] [--config PATH]
    restore portal.db and telemetry.db from their newest replicas into DIR (a new place: the live
    files are not touched), then check PRAGMA integrity_check and print the rows of every table;
    the device-hash secret kept beside the replicas is copied along, and the package files the
    restored portal.db lists are copied from BACKUP_DIR/packages into DIR/packages, each checked
    against its SHA-256 (exit 1 if one is missing or corrupted). --from picks the replica: file
    (BACKUP_DIR) or offsite (OFFSITE_*; over SFTP the package files and the secret come from there
    first, into DIR/packages)`;

/** `ops restore`: both databases from their replicas into a new directory, verified. */
export async function run(ctx: CommandContext): Promise<number> {
  const to = ctx.values.to as string | undefined;
  const from = ctx.values.from as string | undefined;
  if (!to || (from !== undefined && from !== LOCAL_REPLICA && from !== OFFSITE_REPLICA)) {
    ctx.err(`usage: ops ${usage}`);
    return 2;
  }
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  if (from === OFFSITE_REPLICA && !r.offsite) {
    ctx.err('ops restore: --from offsite needs an off-site replica (OFFSITE_SFTP_* or OFFSITE_S3_*, see the README)');
    return 2;
  }
  const dir = resolve(to);
  const taken = databaseNames().filter((name) => existsSync(join(dir, DATABASES[name].file)));
  if (taken.length) {
    ctx.err(`ops restore: ${taken.map((n) => DATABASES[n].file).join(', ')} already in ${dir}: restore into an empty directory`);
    return 1;
  }
  await requireReplicas(r, databaseNames());
  const source = from ? replicaPlace(r, from) : r.backupDir;
  ctx.out(`restoring from ${source} (config ${r.configPath}) into ${dir}`);
  const reports = await restoreAll(r, dir, from);
  let ok = true;
  for (const [name, report] of reports) {
    ok &&= report.integrity === 'ok';
    ctx.out(`${DATABASES[name].file}: integrity_check ${report.integrity}`);
    for (const line of formatRows(report.rows)) ctx.out(line);
  }
  if (from === OFFSITE_REPLICA && r.offsite?.kind === 'sftp') {
    const res = await restoreFromOffsite(r.offsite, dir, { secret: true });
    ctx.out(`packages: ${res.restored} files (${res.bytes} bytes) restored from ${r.offsite.label} into ${join(dir, 'packages')}`);
    for (const hash of res.invalid) ctx.out(`  left out ${hash}: its content does not match its name`);
    if (res.invalid.length) ok = false;
    if (res.secret) ctx.out(`device-hash.secret restored from ${r.offsite.label}`);
  } else if (from === OFFSITE_REPLICA) {
    ctx.out('packages: not in the bucket (restore DATA_DIR/packages from where you back it up); device-hash.secret likewise');
  } else if (copySecretTo(r.backupDir, dir)) {
    ctx.out(`device-hash.secret copied from ${r.backupDir}`);
  }
  if (!ok) {
    ctx.out('restore FAILED a check (see above)');
    return 1;
  }
  // Files already brought from off-site count as present.
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

/**
 * Restores both databases into `dir` (from `replica`, else the newest) and checks each; throws if a
 * replica is missing or unusable.
 */
export async function restoreAll(r: Replication, dir: string, replica?: string): Promise<Map<DatabaseName, DatabaseReport>> {
  mkdirSync(dir, { recursive: true });
  const reports = new Map<DatabaseName, DatabaseReport>();
  for (const name of databaseNames()) {
    const output = join(dir, DATABASES[name].file);
    await restoreTo(r, name, output, replica);
    reports.set(name, checkDatabase(output));
  }
  return reports;
}

/** Bytes of the restored database files in `dir`. */
export function restoredBytes(dir: string): number {
  return databaseNames().reduce((n, name) => n + statSync(join(dir, DATABASES[name].file)).size, 0);
}
