// Starting the real ingest service for a benchmark, and watching its memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { DATABASES, databasePath, freePort, migrateUp, openDatabase } = await import(`${ROOT}packages/shared/dist/index.js`);
export { DATABASES, databasePath, migrateUp, openDatabase };

/** portal.db in `dataDir` with one developer owning `packages` (published). */
export async function seedPortal(dataDir, packages) {
  const db = openDatabase(databasePath(dataDir, 'portal'));
  await migrateUp(db, DATABASES.portal.migrations);
  db.prepare("INSERT INTO developers (id, email, name) VALUES ('bench-dev', 'bench@example.com', 'Bench')").run();
  const insert = db.prepare("INSERT INTO apps (id, developer_id, package_id, name, status) VALUES (?, 'bench-dev', ?, ?, 'published')");
  packages.forEach((p, i) => insert.run(`bench-app-${i}`, p, p));
  db.close();
}

/**
 * The Node flags and malloc settings every starter gives the services' process (packages/ops/src/launcher.ts);
 * V8_SEMI_SPACE_MIB in the bench's environment changes the flags as it does the starters'.
 */
const launcher = await import(`${ROOT}packages/ops/dist/launcher.js`);
export const NODE_FLAGS = launcher.nodeFlags();
export const { MALLOC_ENV } = launcher;

/** Starts packages/ingest/dist/main.js on `dataDir`, as the starters run it; resolves once /readyz answers 200. */
export async function startIngest(dataDir, env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [...NODE_FLAGS, `${ROOT}packages/ingest/dist/main.js`], {
    env: { ...MALLOC_ENV, ...process.env, DATA_DIR: dataDir, INGEST_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {}
    if (i > 300) throw new Error('ingest did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function watchRss(pid, everyMs = 200) {
  let peak = 0;
  const timer = setInterval(() => {
    const rss = rssBytes(pid);
    if (rss > peak) peak = rss;
  }, everyMs);
  return () => {
    clearInterval(timer);
    return peak;
  };
}
