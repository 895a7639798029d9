// The load generator when Debian's `wrk` is installed: far less CPU per request than autocannon, so on a
// shared 2-core box more of the CPU goes to the service measured. One device per request (wrk-events.lua).
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./wrk-events.lua', import.meta.url));

/** Whether `wrk` is on PATH. */
export function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // `wrk --version` prints its usage and exits 1: it is there.
    return err.status === 1;
  }
}

/** Runs wrk against `url`'s POST /v1/events; resolves with the same figures as lib/load.mjs. */
export function wrkLoad(url, { batch, connections, seconds, threads = 2 }) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', SCRIPT, `${url}/v1/events`, '--', String(batch)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
      if (code !== 0 || !line) return reject(new Error(`wrk exited ${code}: ${out}`));
      const r = JSON.parse(line.slice('WRK_RESULT '.length));
      resolve({ ...r, durationSec: r.durationUs / 1e6 });
    });
  });
}
