import { describe, expect, it } from 'vitest';
import { baseConfigSchema, loadConfig } from '@mosis/shared';
import { loadCoreConfig } from './config.js';
import { CORE_HTTP_REQUEST_TIMEOUT_MS } from './limits.js';

describe('core API config', () => {
  it('gives a whole request an hour by default (a package upload on a slow link), the shared default two minutes', () => {
    expect(loadCoreConfig({}).HTTP_REQUEST_TIMEOUT_MS).toBe(CORE_HTTP_REQUEST_TIMEOUT_MS);
    expect(loadConfig(baseConfigSchema, {}).HTTP_REQUEST_TIMEOUT_MS).toBeLessThan(CORE_HTTP_REQUEST_TIMEOUT_MS);
    expect(loadCoreConfig({ HTTP_REQUEST_TIMEOUT_MS: '600000' }).HTTP_REQUEST_TIMEOUT_MS).toBe(600_000);
    expect(() => loadCoreConfig({ HTTP_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('takes TELEMETRY_DATABASE_URL only as a postgres:// URL; unset means telemetry.db', () => {
    expect(loadCoreConfig({}).TELEMETRY_DATABASE_URL).toBeUndefined();
    for (const url of ['postgres://mosis:pw@db:5432/telemetry', 'postgresql://db/telemetry']) expect(loadCoreConfig({ TELEMETRY_DATABASE_URL: url }).TELEMETRY_DATABASE_URL).toBe(url);
    for (const bad of ['mysql://db/telemetry', 'db:5432', '/data/telemetry.db']) expect(() => loadCoreConfig({ TELEMETRY_DATABASE_URL: bad }), bad).toThrow(/TELEMETRY_DATABASE_URL/);
  });
});
