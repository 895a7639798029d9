import { describe, expect, it } from 'vitest';
import { baseConfigSchema, ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the contract defaults when nothing is set', () => {
    const config = loadConfig(baseConfigSchema, {});
    expect(config.CORE_PORT).toBe(8080);
    expect(config.INGEST_PORT).toBe(8081);
    expect(config.MIGRATE_ON_START).toBe(true);
    expect(config.DATA_DIR).toMatch(/\/data$/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(baseConfigSchema, { CORE_PORT: '' }).CORE_PORT).toBe(8080);
  });

  it('parses booleans and ports', () => {
    const config = loadConfig(baseConfigSchema, { MIGRATE_ON_START: 'False', INGEST_PORT: '9000' });
    expect(config.MIGRATE_ON_START).toBe(false);
    expect(config.INGEST_PORT).toBe(9000);
  });

  it.each([
    ['CORE_PORT', 'eighty'],
    ['CORE_PORT', '70000'],
    ['MIGRATE_ON_START', 'maybe'],
    ['LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    let err: unknown;
    try {
      loadConfig(baseConfigSchema, { [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).toContain(JSON.stringify(value));
  });
});
