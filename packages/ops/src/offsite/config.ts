import { ConfigError, loadConfig } from '@mosis/shared';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { OFFSITE_SYNC_INTERVAL_MAX_S, OFFSITE_SYNC_INTERVAL_MIN_S, OFFSITE_SYNC_INTERVAL_S, SFTP_DEFAULT_PORT } from '../limits.js';

/**
 * The off-site replica, from OFFSITE_* variables: SFTP to another NAS (databases by Litestream, package
 * files and the device-hash secret by `ops offsite-sync`), or an S3-compatible bucket (databases only).
 * Neither set: no off-site replica, and nothing changes.
 */
export type Offsite = SftpOffsite | S3Offsite;

export interface SftpOffsite {
  kind: 'sftp';
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHosts: string;
  /** Folder on the far side; the replicas, `packages/` and `device-hash.secret` go under it. */
  path: string;
  syncIntervalMs: number;
  /** `user@host:port:path`, for messages. */
  label: string;
}

export interface S3Offsite {
  kind: 's3';
  bucket: string;
  path: string;
  label: string;
}

/**
 * Values are written between double quotes into litestream-offsite-*.yml (Litestream expands ${VAR} before
 * it parses) and into sftp batch commands: so no quotes, backslashes or line breaks; nor *?[], which sftp
 * would expand.
 */
const plain = z
  .string()
  .min(1)
  .refine((v) => !/["\\\n\r*?[\]]/.test(v), 'no quotes, backslashes, line breaks or *?[]');
const existingFile = plain.refine((v) => isAbsolute(v), 'an absolute path').refine((v) => existsSync(v), 'no such file');

const sftpSchema = z.object({
  OFFSITE_SFTP_HOST: plain.regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'a host name or IPv4 address, optionally :port'),
  OFFSITE_SFTP_USER: plain.regex(/^[^@:\s]+$/, 'a user name'),
  OFFSITE_SFTP_KEY_PATH: existingFile,
  /** Default: known_hosts beside the key. */
  OFFSITE_SFTP_KNOWN_HOSTS: existingFile.optional(),
  OFFSITE_SFTP_PATH: plain.transform((v) => v.replace(/(.)\/+$/, '$1')),
  OFFSITE_SYNC_INTERVAL_S: z.coerce.number().int().min(OFFSITE_SYNC_INTERVAL_MIN_S).max(OFFSITE_SYNC_INTERVAL_MAX_S).default(OFFSITE_SYNC_INTERVAL_S),
});

const s3Schema = z.object({
  OFFSITE_S3_BUCKET: plain,
  OFFSITE_S3_PATH: plain.transform((v) => v.replace(/^\/+|\/+$/g, '')).pipe(z.string().min(1, 'a prefix, e.g. mosis')),
  OFFSITE_S3_ENDPOINT: plain.regex(/^https?:\/\/[^/\s]+/, 'an http(s):// URL').optional(),
  OFFSITE_S3_REGION: plain.optional(),
  OFFSITE_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  // Litestream reads these itself; checked here so that a missing one is named at start.
  LITESTREAM_ACCESS_KEY_ID: plain,
  LITESTREAM_SECRET_ACCESS_KEY: z.string().min(1),
});

/** Reads the off-site replica from `env`; undefined when none is configured. Throws ConfigError when half set. */
export function loadOffsite(env: NodeJS.ProcessEnv = process.env): Offsite | undefined {
  const set = (name: string) => (env[name] ?? '') !== '';
  const sftp = Object.keys(sftpSchema.shape).some((k) => k.startsWith('OFFSITE_SFTP_') && set(k));
  const s3 = Object.keys(s3Schema.shape).some((k) => k.startsWith('OFFSITE_S3_') && set(k));
  if (sftp && s3) throw new ConfigError(['OFFSITE_SFTP_*, OFFSITE_S3_*: set one off-site replica, not both']);
  if (sftp) {
    const c = loadConfig(sftpSchema, env);
    const [host, port] = c.OFFSITE_SFTP_HOST.split(':') as [string, string | undefined];
    const p = port ? Number(port) : SFTP_DEFAULT_PORT;
    return {
      kind: 'sftp',
      host,
      port: p,
      user: c.OFFSITE_SFTP_USER,
      keyPath: c.OFFSITE_SFTP_KEY_PATH,
      knownHosts: c.OFFSITE_SFTP_KNOWN_HOSTS ?? knownHostsBeside(c.OFFSITE_SFTP_KEY_PATH),
      path: c.OFFSITE_SFTP_PATH,
      syncIntervalMs: c.OFFSITE_SYNC_INTERVAL_S * 1000,
      label: `${c.OFFSITE_SFTP_USER}@${host}:${p}:${c.OFFSITE_SFTP_PATH}`,
    };
  }
  if (s3) {
    const c = loadConfig(s3Schema, env);
    return { kind: 's3', bucket: c.OFFSITE_S3_BUCKET, path: c.OFFSITE_S3_PATH, label: `s3://${c.OFFSITE_S3_BUCKET}/${c.OFFSITE_S3_PATH}` };
  }
  return undefined;
}

/** OFFSITE_SFTP_KNOWN_HOSTS when unset: `known_hosts` in the key's folder, which must exist. */
function knownHostsBeside(keyPath: string): string {
  const path = join(dirname(keyPath), 'known_hosts');
  if (!existsSync(path)) throw new ConfigError([`OFFSITE_SFTP_KNOWN_HOSTS: unset, and its default ${path} (beside the key) does not exist`]);
  return path;
}
