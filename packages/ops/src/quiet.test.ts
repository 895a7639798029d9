import { tempDir } from '@mosis/shared';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForQuiet } from './quiet.js';

const dir = tempDir('mosis-quiet-');
afterAll(() => dir.cleanup());

describe('waitForQuiet', () => {
  it('waits the quiet period at least, even when nothing changes (or the directory is missing)', async () => {
    expect(await waitForQuiet([`${dir.path}/missing`], 300, 5_000)).toBeGreaterThanOrEqual(300);
  });

  it('keeps waiting while files change, then resolves once they stop', async () => {
    mkdirSync(`${dir.path}/busy/deep`, { recursive: true });
    const writer = setInterval(() => writeFileSync(`${dir.path}/busy/deep/segment`, String(Date.now())), 100);
    setTimeout(() => clearInterval(writer), 1_000);
    const waited = await waitForQuiet([`${dir.path}/busy`], 400, 5_000);
    expect(waited).toBeGreaterThanOrEqual(1_300);
    expect(waited).toBeLessThan(5_000);
  });

  it('waits while a .tmp file is there, up to its limit', async () => {
    mkdirSync(`${dir.path}/tmp`);
    writeFileSync(`${dir.path}/tmp/segment.wal.lz4.tmp`, 'half written');
    expect(await waitForQuiet([`${dir.path}/tmp`], 100, 800)).toBeGreaterThanOrEqual(800);
  });
});
