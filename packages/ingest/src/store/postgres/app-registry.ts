import pg from 'pg';
import type { AppChanges, AppRecord, AppSource } from '../../apps/app-source.js';
import { inTransaction, openPgPool, type PgPool } from './pool.js';

/**
 * app_registry in the telemetry PostgreSQL (migrations/telemetry-pg 0001): the apps as the core API
 * publishes them, for ingest processes that cannot read portal.db. Both ends are here, with the table.
 *
 * Every change takes the next `version` from one sequence and is followed by NOTIFY app_registry (sent
 * when its transaction commits). Publications hold one advisory lock from before they take versions until
 * they commit, so versions become visible in order: a reader asking for "version > the last I saw" never
 * steps past a change committed late. A deleted app stays, as status 'deleted', so its removal reaches
 * every reader too.
 */

/** The NOTIFY channel. */
export const APP_REGISTRY_CHANNEL = 'app_registry';
/** Serializes publications (any constant; this one spells "mosis-ar"). */
const PUBLISH_LOCK_KEY = 0x6d6f7369735f6172n;
/** Wait before listening again after the listening connection broke. */
const RELISTEN_DELAY_MS = 1_000;

interface Row {
  app_id: string;
  package_id: string;
  status: string;
  version: bigint;
}

const record = (r: Row): AppRecord => ({ id: r.app_id, packageId: r.package_id, status: r.status });

function changes(rows: Row[], since: bigint): AppChanges {
  return { apps: rows.map(record), version: rows.reduce((v, r) => (r.version > v ? r.version : v), since) };
}

/** What ingest reads: the registry over a small pool, and a LISTEN connection of its own. */
export class PgAppSource implements AppSource {
  constructor(
    private readonly pool: PgPool,
    private readonly url: string,
  ) {}

  async loadAll(): Promise<AppChanges> {
    return changes((await this.pool.query<Row>('SELECT app_id, package_id, status, version FROM app_registry ORDER BY version')).rows, 0n);
  }

  async changesSince(version: bigint): Promise<AppChanges> {
    const res = await this.pool.query<Row>('SELECT app_id, package_id, status, version FROM app_registry WHERE version > $1 ORDER BY version', [version]);
    return changes(res.rows, version);
  }

  async lookup(packageIds: readonly string[]): Promise<AppRecord[]> {
    const res = await this.pool.query<Row>('SELECT app_id, package_id, status, version FROM app_registry WHERE package_id = ANY($1) ORDER BY version', [packageIds]);
    return res.rows.map(record);
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const listen = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.url, application_name: 'mosis-ingest-apps' });
      const again = () => {
        if (stopped || client !== c) return;
        client = undefined;
        c.end().catch(() => {});
        retry = setTimeout(() => void listen().then(onChange, () => {}), RELISTEN_DELAY_MS);
        retry.unref();
      };
      c.on('error', again);
      c.on('end', again);
      c.on('notification', () => onChange());
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${APP_REGISTRY_CHANNEL}`);
      } catch (err) {
        again();
        throw err;
      }
    };
    // A server not reachable yet is not fatal: `again` keeps trying, and the first success catches up.
    await listen().catch(() => {});
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The apps source of an ingest process on TELEMETRY_DATABASE_URL (its own small pool). */
export function openPgAppSource(url: string): PgAppSource {
  return new PgAppSource(openPgPool(url, { max: 2, applicationName: 'mosis-ingest-apps' }), url);
}

/**
 * What the core API writes: `publish` upserts apps (a row whose package id and status did not change keeps
 * its version), `deleted` marks removed ones, `syncAll` makes the registry equal to a full list. Each is one
 * transaction under the publication lock, followed by NOTIFY when anything changed.
 */
export class PgAppRegistryPublisher {
  constructor(private readonly pool: PgPool) {}

  /** Publishes these apps' current package id and status; answers how many rows changed. */
  publish(apps: readonly AppRecord[]): Promise<number> {
    return this.write(async (c) => upsert(c, apps));
  }

  /** Marks apps that no longer exist as deleted. */
  deleted(appIds: readonly string[]): Promise<number> {
    return this.write(async (c) => markDeleted(c, appIds));
  }

  /** Makes the registry equal `apps` (every app that exists): upserts them, marks every other one deleted. */
  syncAll(apps: readonly AppRecord[]): Promise<number> {
    return this.write(async (c) => {
      const changed = await upsert(c, apps);
      const gone = await c.query<{ app_id: string }>("SELECT app_id FROM app_registry WHERE status <> 'deleted' AND NOT (app_id = ANY($1))", [apps.map((a) => a.id)]);
      return changed + (await markDeleted(c, gone.rows.map((r) => r.app_id)));
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private write(fn: (c: pg.PoolClient) => Promise<number>): Promise<number> {
    return inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [PUBLISH_LOCK_KEY]);
      const changed = await fn(c);
      if (changed) await c.query(`NOTIFY ${APP_REGISTRY_CHANNEL}`);
      return changed;
    });
  }
}

async function upsert(c: pg.PoolClient, apps: readonly AppRecord[]): Promise<number> {
  if (!apps.length) return 0;
  const res = await c.query(
    `INSERT INTO app_registry (app_id, package_id, status)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (app_id) DO UPDATE SET package_id = excluded.package_id, status = excluded.status, version = nextval('app_registry_version')
     WHERE app_registry.package_id IS DISTINCT FROM excluded.package_id OR app_registry.status IS DISTINCT FROM excluded.status`,
    [apps.map((a) => a.id), apps.map((a) => a.packageId), apps.map((a) => a.status)],
  );
  return res.rowCount ?? 0;
}

async function markDeleted(c: pg.PoolClient, appIds: readonly string[]): Promise<number> {
  if (!appIds.length) return 0;
  const res = await c.query(
    "UPDATE app_registry SET status = 'deleted', version = nextval('app_registry_version') WHERE app_id = ANY($1) AND status <> 'deleted'",
    [appIds],
  );
  return res.rowCount ?? 0;
}

/** The publisher of a core API on TELEMETRY_DATABASE_URL (its own small pool). */
export function openPgAppRegistryPublisher(url: string): PgAppRegistryPublisher {
  return new PgAppRegistryPublisher(openPgPool(url, { max: 2, applicationName: 'mosis-core-apps' }));
}
