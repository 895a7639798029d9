import { tempDir } from '@mosis/shared';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LITESTREAM_CONFIG, litestreamBinary, parseGenerations, parseGoDuration, replication, runLitestream } from './litestream.js';

const dir = tempDir('mosis-litestream-');
afterAll(() => dir.cleanup());

describe('litestream', () => {
  it('finds the real v0.3.13 binary of the npm package, and honours LITESTREAM_BIN', () => {
    const binary = litestreamBinary({});
    expect(binary).toContain(`@flydotio/litestream-${process.platform}-${process.arch}/litestream`);
    expect(execFileSync(binary, ['version'], { encoding: 'utf8' }).trim()).toBe('v0.3.13');
    expect(litestreamBinary({ LITESTREAM_BIN: '/opt/ls' })).toBe('/opt/ls');
  });

  it('defaults BACKUP_DIR to DATA_DIR/backups and hands Litestream absolute paths', () => {
    const r = replication('./some/data', undefined, {});
    expect(r.configPath).toBe(DEFAULT_LITESTREAM_CONFIG);
    expect(r.dataDir).toBe(`${process.cwd()}/some/data`);
    expect(r.env.BACKUP_DIR).toBe(`${process.cwd()}/some/data/backups`);
    expect(replication('/data', undefined, { BACKUP_DIR: '/backups' }).env).toMatchObject({ DATA_DIR: '/data', BACKUP_DIR: '/backups' });
    expect(() => replication('/data', '/no/such/litestream.yml', {})).toThrow(/config not found/);
  });

  it('litestream.yml replicates both databases from DATA_DIR to file replicas in BACKUP_DIR for 720 h', async () => {
    const r = replication(`${dir.path}/data`, undefined, { BACKUP_DIR: `${dir.path}/backups` });
    const res = await runLitestream(r, 'databases', []);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`${dir.path}/data/portal.db  `);
    expect(res.stdout).toContain(`${dir.path}/data/telemetry.db  `);
    const yml = readFileSync(DEFAULT_LITESTREAM_CONFIG, 'utf8');
    expect(yml.match(/^\s+type: file$/gm)).toHaveLength(2);
    expect(yml.match(/^\s+retention: 720h$/gm)).toHaveLength(2);
    expect(yml).toContain('path: ${BACKUP_DIR}/portal');
    expect(yml).toContain('path: ${BACKUP_DIR}/telemetry');
  });

  it.each([
    ['-18ms', -18],
    ['0', 0],
    ['1.5s', 1500],
    ['2m3.25s', 123_250],
    ['1h0m0s', 3_600_000],
    ['250µs', 0.25],
  ])('parses the Go duration %s', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms);
  });

  it('rejects what is not a Go duration', () => {
    expect(() => parseGoDuration('soon')).toThrow(/not a duration/);
    expect(() => parseGoDuration('5 s')).toThrow(/not a duration/);
  });

  it('parses the generations table', () => {
    const gens = parseGenerations(
      'name  generation        lag     start                 end\n' +
        'file  3bb36e79e9de93a6  -18ms   2026-11-28T03:09:29Z  2026-11-28T03:09:29Z\n' +
        'file  0c5ec1b9844de4b0  2h0m1s  2026-11-27T01:00:00Z  2026-11-27T02:00:00Z\n',
    );
    expect(gens).toEqual([
      { replica: 'file', generation: '3bb36e79e9de93a6', lagMs: -18, start: new Date('2026-11-28T03:09:29Z'), end: new Date('2026-11-28T03:09:29Z') },
      { replica: 'file', generation: '0c5ec1b9844de4b0', lagMs: 7_201_000, start: new Date('2026-11-27T01:00:00Z'), end: new Date('2026-11-27T02:00:00Z') },
    ]);
  });
});
