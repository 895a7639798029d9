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
});
