// Package benchmark: upload and download of one 200 MiB package through the real core API over HTTP, against
// a plain file copy on the same disk (read + write + fsync), with the service's peak RSS during each.
// The upload figure is everything until the 200: streaming to a temp file while hashing, signature check,
// fsync, rename, and the copy to BACKUP_DIR/packages. The download streams from the file to a client that
// writes it to the same disk and fsyncs, as the copy does.
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, openSync, closeSync, fsyncSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ROOT, rssBytes, watchRss } from './lib/service.mjs';

const { freePort } = await import(`${ROOT}packages/shared/dist/index.js`);

const MiB = 2 ** 20;
const SIZE = Number(process.env.BENCH_PACKAGE_MIB ?? 200) * MiB;
const ADMIN = 'bench-admin-token-0123456789';
const load1 = () => loadavg()[0].toFixed(2);
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function writeRandomFile(path, bytes) {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= 4 * MiB) {
    if (!out.write(randomBytes(Math.min(4 * MiB, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function fsyncPath(path) {
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
}

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk);
  return hash.digest();
}

async function startCore(dataDir) {
  const port = await freePort();
  const child = spawn(process.execPath, [`${ROOT}packages/core-api/dist/main.js`], {
    env: { ...process.env, DATA_DIR: dataDir, CORE_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_TOKEN: ADMIN },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    if (i > 300) throw new Error('core API did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid, stop: () => (child.kill('SIGTERM'), exited) };
}

async function json(url, { method = 'POST', token, body } = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Streams `path` as the body of a PUT; resolves with the status once the answer is in. */
function uploadFile(url, token, path) {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': statSync(path).size },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    createReadStream(path, { highWaterMark: MiB }).pipe(req);
  });
}

/** Downloads `url` into `path` and fsyncs it. */
async function downloadFile(url, path) {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`download: ${res.status}`);
  await pipeline(res.body, createWriteStream(path));
  fsyncPath(path);
}

/** Peak RSS of `pid` from now until the returned function is called (sampled every 50 ms, and at both ends). */
function watchPeak(pid) {
  const first = rssBytes(pid);
  const stop = watchRss(pid, 50);
  return () => Math.max(first, stop(), rssBytes(pid));
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'mosis-bench-packages-'));
  const dataDir = join(dir, 'data');
  const src = join(dir, 'package.mpk');
  try {
    process.stdout.write(`  writing a ${SIZE / MiB} MiB package to ${dir} (load ${load1()})\n`);
    await writeRandomFile(src, SIZE);
    fsyncPath(src);
    const digest = await sha256File(src);

    // Baseline: a plain copy on the same disk, read + write + fsync (what `cp` then `sync` does).
    const copySeconds = await timed(async () => {
      await pipeline(createReadStream(src, { highWaterMark: MiB }), createWriteStream(join(dir, 'copy.mpk')));
      fsyncPath(join(dir, 'copy.mpk'));
    });
    rmSync(join(dir, 'copy.mpk'));

    const core = await startCore(dataDir);
    try {
      const { token } = await json(`${core.url}/v1/auth/register`, { body: { email: 'bench@example.com', name: 'Bench', password: 'bench passphrase' } });
      const me = await json(`${core.url}/v1/me`, { method: 'GET', token });
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      await json(`${core.url}/v1/signing-keys`, {
        token,
        body: {
          name: 'bench',
          public_key: publicKey.export({ type: 'spki', format: 'pem' }),
          proof: sign(null, Buffer.from(`mosis-signing-key:${me.id}`), privateKey).toString('base64'),
        },
      });
      const app = await json(`${core.url}/v1/apps`, { token, body: { package_id: 'com.bench.big', name: 'Big' } });
      await json(`${core.url}/v1/apps/${app.id}/versions`, {
        token,
        body: { version_code: 1, version_name: '1.0', package_size: SIZE, signature: sign(null, digest, privateKey).toString('base64') },
      });
      const idleRss = rssBytes(core.pid);

      let stopRss = watchPeak(core.pid);
      let status;
      const uploadSeconds = await timed(async () => {
        status = await uploadFile(`${core.url}/v1/apps/${app.id}/versions/1/package`, token, src);
      });
      const uploadRss = stopRss();
      if (status !== 200) throw new Error(`upload answered ${status}`);

      await json(`${core.url}/v1/apps/${app.id}/versions/1/submit`, { token });
      for (const step of ['approve', 'publish']) await json(`${core.url}/v1/admin/apps/${app.id}/versions/1/${step}`, { token: ADMIN });

      stopRss = watchPeak(core.pid);
      const dst = join(dir, 'downloaded.mpk');
      const downloadSeconds = await timed(() => downloadFile(`${core.url}/v1/catalog/apps/com.bench.big/versions/1/package`, dst));
      const downloadRss = stopRss();
      if (!(await sha256File(dst)).equals(digest)) throw new Error('downloaded bytes differ');

      const rate = (s) => SIZE / MiB / s;
      console.log(`\npackages: one ${SIZE / MiB} MiB package, same disk (${dir}), load average ${load1()} at the end`);
      console.log(`  plain file copy (read + write + fsync)  ${fmt(rate(copySeconds), 1)} MiB/s  (${fmt(copySeconds, 2)} s)`);
      console.log(
        `  upload over HTTP (hash, verify, fsync, rename, backup copy)  ${fmt(rate(uploadSeconds), 1)} MiB/s  (${fmt(uploadSeconds, 2)} s), ` +
          `${fmt(copySeconds / uploadSeconds, 2)}x the copy; service RSS peak ${fmt(uploadRss / MiB)} MiB (idle ${fmt(idleRss / MiB)} MiB)`,
      );
      console.log(
        `  download over HTTP (client writes + fsyncs)  ${fmt(rate(downloadSeconds), 1)} MiB/s  (${fmt(downloadSeconds, 2)} s), ` +
          `${fmt(copySeconds / downloadSeconds, 2)}x the copy; service RSS peak ${fmt(downloadRss / MiB)} MiB`,
      );
    } finally {
      await core.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
