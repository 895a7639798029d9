import { freePort, spawnNode, tempDir, waitForHttp, type ChildHandle } from '@mosis/shared';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's publishing walkthrough, run as written with bash, curl, jq and the machine's OpenSSL against
// the built core API (npm test builds first); its operator step runs `npm run ops` in this checkout.
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dir = tempDir('mosis-readme-');
let core: ChildHandle;
let api: string;

/** The first ```bash block after the "## Publishing an app" heading. */
function publishingBlock(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## Publishing an app\n'));
  const match = /```bash\n([\s\S]*?)\n```/.exec(section);
  if (readme.indexOf('\n## Publishing an app\n') < 0 || !match) throw new Error('README.md: no ```bash block under "## Publishing an app"');
  return match[1]!;
}

// An upload a crash interrupted, in the live and the backup temp folders.
const LEFTOVERS = [`${dir.path}/data/packages/.tmp/interrupted`, `${dir.path}/data/backups/packages/.tmp/interrupted`];

beforeAll(async () => {
  for (const path of LEFTOVERS) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'half an upload');
  }
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  core = spawnNode(MAIN, [], { DATA_DIR: `${dir.path}/data`, CORE_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  await waitForHttp(`${api}/readyz`, 30_000);
});
afterAll(async () => {
  core.child.kill('SIGTERM');
  await core.exited;
  dir.cleanup();
});

describe('the core API process', () => {
  it('removes the temp files of interrupted uploads before it serves', () => {
    expect(LEFTOVERS.filter(existsSync)).toEqual([]);
  });
});

describe('README: publishing an app', () => {
  it('runs as written: the device verifies the downloaded package with the catalog key', async () => {
    const work = `${dir.path}/work`;
    mkdirSync(work);
    writeFileSync(`${work}/flow.sh`, publishingBlock(readFileSync(`${REPO}/README.md`, 'utf8')));
    // -e -u -o pipefail: any failing command fails the test (a reader pasting it sees the same errors).
    const bash = spawn('bash', ['-euo', 'pipefail', 'flow.sh'], {
      cwd: work,
      env: { ...process.env, API: api, MOSIS: REPO, DATA_DIR: `${dir.path}/data` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    bash.stdout.on('data', (d) => (output += d));
    bash.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => bash.on('exit', resolve));
    expect(code, `${output}\n--- core API:\n${core.output()}`).toBe(0);
    expect(output).toContain('Signature Verified Successfully');
    expect(readFileSync(`${work}/download.mpk`)).toEqual(readFileSync(`${work}/camera.mpk`));
    expect(output).toMatch(/com\.example\.camera version 1: approved[\s\S]*com\.example\.camera version 1: published/);
  }, 240_000);
});
