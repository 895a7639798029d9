import { baseConfigSchema, loadConfig } from '@mosis/shared';
import { z } from 'zod';

/** Ingest settings: the shared ones plus the write path's. */
export const ingestConfigSchema = baseConfigSchema.extend({
  /** Key for the device-id HMAC. Generated and kept in DATA_DIR on first start when unset. */
  DEVICE_HASH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return loadConfig(ingestConfigSchema, env);
}
