import { ConfigError } from '@mosis/shared';
import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_EVENT_TYPES_PER_APP, DEFAULT_QUEUE_MAX_EVENTS, DEFAULT_TELEMETRY_CACHE_MIB } from './limits.js';

describe('ingest config', () => {
  it('has defaults for the write path', () => {
    const c = loadIngestConfig({});
    expect(c.INGEST_QUEUE_MAX_EVENTS).toBe(DEFAULT_QUEUE_MAX_EVENTS);
    expect(c.INGEST_FLUSH_INTERVAL_MS).toBe(DEFAULT_FLUSH_INTERVAL_MS);
    expect(c.TELEMETRY_CACHE_MIB).toBe(DEFAULT_TELEMETRY_CACHE_MIB);
    expect(c.DEVICE_HASH_SECRET).toBeUndefined();
    expect(c.MAX_EVENT_TYPES_PER_APP).toBe(DEFAULT_MAX_EVENT_TYPES_PER_APP);
    expect(loadIngestConfig({ MAX_EVENT_TYPES_PER_APP: '50' }).MAX_EVENT_TYPES_PER_APP).toBe(50);
  });

  it('names each invalid variable', () => {
    const err = (() => {
      try {
        loadIngestConfig({ INGEST_QUEUE_MAX_EVENTS: '10', INGEST_FLUSH_INTERVAL_MS: 'soon', DEVICE_HASH_SECRET: 'short' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems.map((p) => p.split(':')[0]).sort()).toEqual(['DEVICE_HASH_SECRET', 'INGEST_FLUSH_INTERVAL_MS', 'INGEST_QUEUE_MAX_EVENTS']);
  });
});
