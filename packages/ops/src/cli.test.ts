import { tempDir } from '@mosis/shared';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from './cli.js';
import { runOps } from './testing.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

const ops = (...argv: string[]) => runOps(argv);

describe('ops migrate', () => {
  beforeEach(() => {
    process.env.DATA_DIR = `${dir.path}/data`;
  });

  it('prints usage and exits 2 without a command, 0 with --help', async () => {
    expect((await ops()).code).toBe(2);
    const help = await ops('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('migrate up|down|status');
  });

  it('prints every command`s usage for `help`, one command`s for `help NAME` and `NAME --help`, exit 0', async () => {
    const all = await ops('help');
    expect(all).toMatchObject({ code: 0, err: '' });
    for (const command of Object.values(COMMANDS)) expect(all.out).toContain(command.usage.split('\n')[0]);
    for (const argv of [['help', 'restore-drill'], ['restore-drill', '--help'], ['restore-drill', '-h']]) {
      const one = await ops(...argv);
      expect(one, argv.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(one.out).toBe(`usage: ops ${COMMANDS['restore-drill']!.usage}`);
    }
    const unknown = await ops('help', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown command "nope"');
  });

  it('rejects unknown commands, options and databases', async () => {
    expect((await ops('nope')).err).toContain('unknown command');
    expect((await ops('migrate', 'up', '--bogus')).code).toBe(2);
    expect((await ops('migrate', 'up', '--db', 'other')).code).toBe(2);
    expect((await ops('migrate', 'sideways', '--db', 'portal')).code).toBe(2);
  });

  it.each(['portal', 'telemetry'])('migrates %s up, down and shows status', async (db) => {
    const up = await ops('migrate', 'up', '--db', db);
    expect(up.code).toBe(0);
    expect(up.out).toMatch(/applied +0001_/);
    expect((await ops('migrate', 'status', '--db', db)).out).not.toContain('pending');
    const down = await ops('migrate', 'down', '--db', db);
    expect(down.out).toMatch(/reverted /);
    expect((await ops('migrate', 'status', '--db', db)).out).toContain('pending');
    expect((await ops('migrate', 'down', '--db', db, '--to', '0')).code).toBe(0);
    expect((await ops('migrate', 'status', '--db', db)).out).not.toContain('applied');
    expect((await ops('migrate', 'up', '--db', db)).code).toBe(0);
  });

  it('fails with a message naming the variable when the environment is invalid', async () => {
    process.env.LOG_LEVEL = 'shouting';
    try {
      const res = await ops('migrate', 'status', '--db', 'portal');
      expect(res.code).toBe(2);
      expect(res.err).toContain('LOG_LEVEL');
    } finally {
      delete process.env.LOG_LEVEL;
    }
  });
});

describe('ops restore and restore-drill without replicas', () => {
  // As after `npm start`: the databases exist, but nothing ever ran Litestream, so there are no replicas.
  it.each(['restore-drill', 'restore'])('%s says which database has no replica where, and what to run', async (command) => {
    const root = `${dir.path}/unreplicated-${command}`;
    const env = { DATA_DIR: `${root}/data`, BACKUP_DIR: `${root}/backups` };
    for (const db of ['portal', 'telemetry']) expect((await runOps(['migrate', 'up', '--db', db], env)).code).toBe(0);
    const res = await runOps(command === 'restore' ? ['restore', '--to', `${root}/restored`] : [command], env);
    expect(res.code).toBe(1);
    expect(res.err).toContain(`ops ${command}: nothing to restore from`);
    expect(res.err).toContain(`portal.db: no replica at ${root}/backups/portal`);
    expect(res.err).toContain(`telemetry.db: no replica at ${root}/backups/telemetry`);
    expect(res.err).toContain('npm run start:replicated');
    expect(res.err).toMatch(/BACKUP_DIR .*LITESTREAM_CONFIG/s);
    expect(res.output).not.toMatch(/level=ERROR|no matching backups|no such file/);
  });

  it('restore-drill on a data directory with nothing in it says the same, not that a file is missing', async () => {
    const root = `${dir.path}/empty`;
    const res = await runOps(['restore-drill'], { DATA_DIR: `${root}/data`, BACKUP_DIR: `${root}/backups` });
    expect(res.code).toBe(1);
    expect(res.err).toContain(`portal.db: no replica at ${root}/backups/portal`);
    expect(res.output).not.toMatch(/level=ERROR|no such file/);
  });
});
