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
  return async (c, next) => {
    const start = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    m.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    m.httpDuration.observe({ method: c.req.method, route }, (performance.now() - start) / 1000);
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
