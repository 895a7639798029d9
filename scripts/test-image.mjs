#!/usr/bin/env node
// `npm run test:image`: builds the Docker image and runs it as a NAS would, then checks what the README
// promises of it: it runs as non-root; its health check becomes healthy; both services answer (a developer
// registers and creates an app, ingest accepts an event for it); both databases are replicated into the
// backups volume and `mosis-ops restore-drill` passes inside it; `docker stop` exits 0 within 10 s; and a
// new container on an empty data volume with the old backups volume restores both databases.
//
// It uses podman (or Docker when an engine runs) and detects what this machine needs instead of assuming:
// a base image that cannot be pulled is made with mmdebstrap from Debian 12 and this machine's Node; an OCI
// runtime or rlimits that fail are replaced (runc, explicit ulimits); a build that cannot run its steps
// uses buildah's chroot isolation; a TLS-intercepting proxy's CA is given to the build stage. The summary
// says which of these it had to do. Only Node's standard library is used, so it runs before any install.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  baseImage,
  buildImage,
  check,
  cleanups,
  engine,
  engineRun,
  exec,
  Failure,
  healthy,
  id,
  IMAGE,
  lastLine,
  log,
  logs,
  phase,
  probeBuild,
  probeRegistry,
  probeRuntime,
  REPLICA_TIMEOUT_MS,
  request,
  started,
  startContainer,
  STOP_LIMIT_S,
  stopContainer,
  timings,
  until,
  volume,
  work,
  workarounds,
} from './lib/image.mjs';


/** Uids of every process in the container (from /proc, with the image's own node). */
function processUids(c) {
  const script = "const fs=require('fs');for(const p of fs.readdirSync('/proc').filter(d=>/^\\d+$/.test(d))){try{const s=fs.readFileSync('/proc/'+p+'/status','utf8');console.log(p,/^Name:\\s*(.*)$/m.exec(s)[1],/^Uid:\\s*(\\d+)/m.exec(s)[1])}catch{}}";
  const res = exec(c, ['node', '-e', script]);
  if (res.code !== 0) throw new Failure('could not list the container processes', res.out);
  return res.stdout.trim().split('\n').map((l) => l.split(' '));
}

const event = (app) => ({
  sent_at: new Date().toISOString(),
  events: [
    {
      event_id: crypto.randomUUID(),
      app,
      device_id: 'image-test-device',
      event_type: 'app_open',
      timestamp: new Date().toISOString(),
      mosis_version: '1.4.2',
      data: { from: 'test:image' },
    },
  ],
});

/** Posts an event until ingest knows the app (it reads new apps from portal.db within a second or so). */
async function ingestAccepts(c, app) {
  return until(`ingest to accept an event for ${app}`, 30_000, async () => {
    const res = await request('POST', `${c.ingest}/v1/events`, event(app));
    if (res.status !== 202) throw new Failure(`POST /v1/events: ${res.status}`, JSON.stringify(res.body));
    return res.body.accepted === 1 ? res.body : undefined;
  });
}

// ---- the test --------------------------------------------------------------------------------------------

const EMAIL = `image-test-${id}@example.com`;
const PASSWORD = 'correct horse battery staple';
const APP = 'com.example.imagetest';
const figures = {};

async function main() {
  log(`engine: ${engine} ${lastLine(engineRun(['--version']).out)}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const base = await phase('base image', () => baseImage());
  await phase('probes', () => probeRuntime(base));
  await phase('probes', () => probeBuild(base));
  const buildBase = await phase('probes', () => probeRegistry(base));
  figures.size = await phase('build', () => buildImage(base, buildBase));

  const data = volume(`mosis-test-data-${id}`);
  const backups = volume(`mosis-test-backups-${id}`);
  const first = await startContainer(`mosis-test-${id}`, data, backups);
  figures.healthy1 = await phase('first start', () => healthy(first));

  const uids = processUids(first);
  // Litestream and one Node process for both services, besides the lister itself (and a health check).
  const names = uids.map((u) => u[1]);
  check(names.includes('litestream') && names.filter((n) => n === 'node').length >= 2 && uids.every(([, , uid]) => uid !== '0'), `non-root: every process runs as a non-root uid (${[...new Set(uids.map((u) => u[2]))].join(', ')}): ${uids.map((u) => u[1]).join(', ')}`, JSON.stringify(uids));
  check(exec(first, ['id', '-u']).stdout.trim() === '1000', 'docker exec runs as uid 1000 (node)');
  check(exec(first, ['sh', '-c', 'command -v sftp']).code === 0, "the image has OpenSSH's sftp (the off-site copy of package files)");

  for (const [service, base] of [['core', first.core], ['ingest', first.ingest]]) {
    const res = await request('GET', `${base}/healthz`);
    check(res.status === 200, `${service} answers GET /healthz`, JSON.stringify(res.body));
  }
  // The web console is in the image: its page, and every file it loads (its modules built by tsc, uPlot from the prod install).
  const signIn = await fetch(`${first.core}/console/sign-in`, { signal: AbortSignal.timeout(10_000) });
  const signInHtml = await signIn.text();
  check(signIn.status === 200 && signInHtml.includes('<h1>Sign in</h1>'), 'core: the web console answers GET /console/sign-in', signInHtml.slice(0, 500));
  for (const file of ['console.css', 'main.js', 'charts.js', 'vendor/uPlot.iife.min.js']) {
    const url = `${first.core}${/href="(\/console\/static\/[0-9a-f]+\/)console\.css"/.exec(signInHtml)?.[1] ?? '/console/static/none/'}${file}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    check(res.status === 200 && (await res.arrayBuffer()).byteLength > 0, `core: the console serves ${file}`, url);
  }
  const reg = await request('POST', `${first.core}/v1/auth/register`, { email: EMAIL, name: 'Image test', password: PASSWORD });
  check(reg.status === 201, 'core: a developer registers (201)', JSON.stringify(reg.body));
  const app = await request('POST', `${first.core}/v1/apps`, { package_id: APP, name: 'Image test' }, reg.body.token);
  check(app.status === 201, 'core: the developer creates an app (201)', JSON.stringify(app.body));
  await ingestAccepts(first, APP);
  check(true, `ingest: accepts an event for ${APP} (202, accepted 1)`);

  const replicaFiles = await until('both databases to appear in the backups volume', REPLICA_TIMEOUT_MS, () => {
    const res = exec(first, ['find', '/backups', '-name', '*.lz4']);
    const files = res.stdout.trim().split('\n').filter(Boolean);
    const has = (db, kind) => files.some((f) => f.startsWith(`/backups/${db}/generations/`) && f.includes(`/${kind}/`));
    return ['portal', 'telemetry'].every((db) => has(db, 'snapshots') && has(db, 'wal')) ? files : undefined;
  });
  check(true, `both databases replicated: ${replicaFiles.length} snapshot and WAL files under /backups/portal and /backups/telemetry`);
  const drill = exec(first, ['mosis-ops', 'restore-drill']);
  console.log(drill.out.trim().replace(/^/gm, '    '));
  check(drill.code === 0 && drill.out.includes('drill passed'), 'mosis-ops restore-drill passes inside the container', drill.out);
  figures.drill = drill.out;

  figures.stop1 = await phase('stop', () => stopContainer(first));
  check(logs(first).includes('litestream shut down'), 'Litestream shut down cleanly (its last sync done)', logs(first).slice(-3000));

  // The data volume is lost: a new, empty one with the old backups volume.
  const data2 = volume(`mosis-test-data2-${id}`);
  const second = await startContainer(`mosis-test-restored-${id}`, data2, backups);
  figures.healthy2 = await phase('restore start', () => healthy(second));
  const startLog = logs(second);
  for (const line of ['portal.db restored from its replica', 'telemetry.db restored from its replica', 'device-hash.secret restored']) {
    check(startLog.includes(`entrypoint: ${line}`), `the new container says "${line}"`, startLog.slice(-3000));
  }
  const login = await request('POST', `${second.core}/v1/auth/login`, { email: EMAIL, password: PASSWORD });
  check(login.status === 200, 'the developer logs in on the restored portal.db', JSON.stringify(login.body));
  const apps = await request('GET', `${second.core}/v1/apps`, undefined, login.body.token);
  check(apps.status === 200 && JSON.stringify(apps.body).includes(APP), `the app ${APP} is there`, JSON.stringify(apps.body));
  const stats = exec(second, ['mosis-ops', 'stats']);
  const events = [...stats.out.matchAll(/telemetry_events_\d{4}_\d{2}\s+(\d+) rows/g)].reduce((n, m) => n + Number(m[1]), 0);
  check(stats.code === 0 && events >= 1, `the restored telemetry.db holds the event(s) sent before (${events})`, stats.out);
  await ingestAccepts(second, APP);
  check(true, 'ingest on the restored data accepts events for the app');
  figures.stop2 = await phase('stop', () => stopContainer(second));
}

function summary(ok, error) {
  const total = (performance.now() - started) / 1000;
  const byPhase = new Map();
  for (const [name, s] of timings) byPhase.set(name, (byPhase.get(name) ?? 0) + s);
  console.log('');
  log(`${ok ? 'PASSED' : 'FAILED'} in ${total.toFixed(0)} s (load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
  if (error) console.log(`  failed: ${error.message}`);
  console.log(`  workarounds this machine needed${workarounds.length ? ':' : ': none'}`);
  for (const w of workarounds) console.log(`    - ${w}`);
  console.log(`  timings: ${[...byPhase].map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ')}`);
  if (figures.size) console.log(`  image ${IMAGE}: ${(figures.size / 1e6).toFixed(0)} MB`);
  if (figures.stop1 !== undefined) console.log(`  docker stop: ${figures.stop1.toFixed(1)} s${figures.stop2 !== undefined ? `, after the restore ${figures.stop2.toFixed(1)} s` : ''} (limit ${STOP_LIMIT_S} s)`);
}

let failed;
try {
  await main();
} catch (err) {
  failed = err;
} finally {
  for (const fn of cleanups.reverse()) fn();
  rmSync(work, { recursive: true, force: true });
}
summary(!failed, failed);
if (failed && !(failed instanceof Failure)) console.error(failed);
process.exit(failed ? 1 : 0);
