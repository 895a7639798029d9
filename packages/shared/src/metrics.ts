import type { MiddlewareHandler } from 'hono';
import { statSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DB } from './db.js';

/** A service's Prometheus registry with process metrics and the HTTP request metrics every service has. */
export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
}

export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration, by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration };
}

/** Counts and times every request by its route pattern (never the raw path: ids would explode cardinality). */
export function httpMetrics(m: Metrics): MiddlewareHandler {
  const record = httpRecorder(m);
  return async (c, next) => {
    const start = performance.now();
    await next();
    record(c.req.method, c.req.routePath || 'unmatched', c.res.status, start);
  };
}

/**
 * Records one answered request in `http_requests_total` and `http_request_duration_seconds` (`start`:
 * performance.now() at arrival). The label children are looked up once per method, route and status, not
 * hashed from a labels object per request: prom-client's hashing costs more than the increment.
 */
export function httpRecorder(m: Metrics): (method: string, route: string, status: number, start: number) => void {
  const children = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();
  return (method, route, status, start) => {
    const key = `${method} ${route} ${status}`;
    let c = children.get(key);
    if (!c) {
      c = { count: m.httpRequests.labels({ method, route, status: String(status) }), duration: m.httpDuration.labels({ method, route }) };
      children.set(key, c);
    }
    c.count.inc();
    c.duration.observe((performance.now() - start) / 1000);
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Database gauges read at scrape time, one series per database (label `db`): file and WAL size, page
 * count, free pages. Each getter returns an open connection to that file, or undefined while there is none.
 */
export function registerDatabaseMetrics(m: Metrics, dbs: Record<string, () => DB | undefined>): void {
  const gauge = (metric: string, help: string, read: (db: DB) => number) =>
    new Gauge({
      name: metric,
      help,
      labelNames: ['db'] as const,
      registers: [m.registry],
      collect() {
        for (const [name, get] of Object.entries(dbs)) {
          const conn = get();
          if (!conn?.open) continue;
          try {
            this.set({ db: name }, read(conn));
          } catch {
            // A scrape must not fail because the database is busy; the series keeps its last value.
          }
        }
      },
    });
  gauge('sqlite_file_bytes', 'Size of the database file', (d) => fileSize(d.name));
  gauge('sqlite_wal_bytes', 'Size of the write-ahead log', (d) => fileSize(`${d.name}-wal`));
  gauge('sqlite_page_count', 'Pages in the database', (d) => d.pragma('page_count', { simple: true }) as number);
  gauge('sqlite_freelist_pages', 'Unused pages waiting for vacuum', (d) => d.pragma('freelist_count', { simple: true }) as number);
}
