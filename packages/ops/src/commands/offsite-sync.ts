import type { CommandContext } from '../command.js';
import { replication } from '../litestream.js';
import { pullFromOffsite, syncToOffsite } from '../offsite/packages.js';

export const usage = `offsite-sync [--pull]
    copy the package files (DATA_DIR/packages) and the device-hash secret that the off-site SFTP
    replica lacks (OFFSITE_SFTP_*) there, checking the host key; the launcher does this every
    OFFSITE_SYNC_INTERVAL_S (default 60 s) while the services run. --pull goes the other way:
    fetch the package files DATA_DIR lacks, and the secret if neither DATA_DIR nor BACKUP_DIR has
    it (what the start-up does on a fresh data volume)`;

/** `ops offsite-sync`: one pass of the copy the launcher runs periodically. */
export async function run(ctx: CommandContext): Promise<number> {
  const r = replication(ctx.config.DATA_DIR, ctx.values.config as string | undefined);
  const offsite = r.offsite;
  if (offsite?.kind !== 'sftp') {
    ctx.err(
      offsite
        ? 'ops offsite-sync: the off-site replica is a bucket (OFFSITE_S3_*): package files are not copied there; back up DATA_DIR/packages with your NAS backup tool'
        : 'ops offsite-sync: no off-site replica configured (OFFSITE_SFTP_HOST and the rest, see the README)',
    );
    return 2;
  }
  if (ctx.values.pull) {
    const pulled = await pullFromOffsite(offsite, r.dataDir, r.backupDir);
    ctx.out(`packages: ${pulled.restored} files (${pulled.bytes} bytes) restored from ${offsite.label}`);
    for (const hash of pulled.invalid) ctx.out(`  left out ${hash}: its content does not match its name`);
    if (pulled.secret) ctx.out(`device-hash.secret restored from ${offsite.label}`);
    return pulled.invalid.length ? 1 : 0;
  }
  const res = await syncToOffsite(offsite, r.dataDir);
  for (const path of res.invalid) ctx.out(`not copied: ${path} (its SHA-256 does not match its name)`);
  ctx.out(`packages: ${res.uploaded.length} files copied (${res.bytes} bytes); ${res.offsite} of the files here are now at ${offsite.label}`);
  ctx.out(`device-hash.secret: ${res.secret === 'none' ? 'none here (DEVICE_HASH_SECRET is set)' : res.secret}`);
  return res.invalid.length ? 1 : 0;
}
