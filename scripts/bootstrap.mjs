#!/usr/bin/env node
// Installs the workspace's dependencies when they are missing or older than the lockfile, so that
// `npm start` and `npm test` work from a fresh clone with only Node and npm on the machine.
// pnpm itself is fetched with npx when it is not installed globally.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PNPM_VERSION = '12.4.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '.modules.yaml');
const lockfile = join(root, 'pnpm-lock.yaml');

function upToDate() {
  if (!existsSync(marker)) return false;
  const installed = statSync(marker).mtimeMs;
  const inputs = [lockfile, join(root, 'package.json'), join(root, 'pnpm-workspace.yaml')];
  return inputs.every((f) => !existsSync(f) || statSync(f).mtimeMs <= installed);
}

function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
  if (probe.status === 0 && probe.stdout.trim().split('.')[0] === PNPM_VERSION.split('.')[0]) return ['pnpm', []];
  return ['npx', ['--yes', `pnpm@${PNPM_VERSION}`]];
}

if (upToDate()) process.exit(0);

const env = { ...process.env };
// node-gyp compiles better-sqlite3 when no prebuilt binary fits. Point it at the headers that ship with
// this Node (no download needed) and let it use every core.
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node.h');
if (!env.npm_config_nodedir && existsSync(headers)) env.npm_config_nodedir = join(dirname(process.execPath), '..');
env.JOBS ??= 'max';

const [cmd, pre] = pnpmCommand();
const args = [...pre, 'install', ...(existsSync(lockfile) ? ['--frozen-lockfile'] : [])];
console.error(`bootstrap: ${cmd} ${args.join(' ')}`);
try {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });
} catch (err) {
  console.error(`bootstrap: dependency install failed (${err.status ?? err.message})`);
  process.exit(1);
}
