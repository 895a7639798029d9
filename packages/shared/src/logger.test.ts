import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { createServiceApp } from './http.js';
import { createLogger, type LogLevel } from './logger.js';
import { createMetrics } from './metrics.js';

/** A service app whose log lines land in `lines`, with one route per outcome. */
function appLogging(level: LogLevel) {
  const lines: Array<Record<string, unknown>> = [];
  const metrics = createMetrics('test');
  const app = createServiceApp(createLogger('test', level, (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), metrics);
  app.get('/ok', (c) => c.json({ ok: true }));
  app.get('/bad', () => {
    throw ApiError.badRequest('no');
  });
  app.get('/busy', () => {
    throw ApiError.unavailable(1);
  });
  app.get('/boom', () => {
    throw new Error('disk on fire');
  });
  return { app, lines, metrics };
}

describe('request log', () => {
  it('at info, writes nothing for answered requests, 4xx and deliberate 503s, and counts them all in metrics', async () => {
    const { app, lines, metrics } = appLogging('info');
    for (let i = 0; i < 20; i++) expect((await app.request('/ok')).status).toBe(200);
    expect((await app.request('/bad')).status).toBe(400);
    expect((await app.request('/nowhere')).status).toBe(404);
    expect((await app.request('/busy')).status).toBe(503);
    expect(lines).toEqual([]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/ok",status="200",service="test"\} 20/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/bad",status="400",service="test"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/busy",status="503",service="test"\} 1/);
  });

  it('writes one error line for a 500, with its error', async () => {
    const { app, lines } = appLogging('info');
    expect((await app.request('/boom')).status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'request failed', method: 'GET', path: '/boom', status: 500, err: { message: 'disk on fire' } });
  });

  it('at debug, writes a line per request', async () => {
    const { app, lines } = appLogging('debug');
    await app.request('/ok');
    await app.request('/bad');
    expect(lines.map((l) => [l.level, l.status])).toEqual([
      ['debug', 200],
      ['debug', 400],
    ]);
  });
});

describe('createLogger', () => {
  it('says which levels it writes, so a hot path can skip building what it would not', () => {
    const info = createLogger('test', 'info', () => {});
    expect([info.enabled?.('debug'), info.enabled?.('info'), info.enabled?.('error')]).toEqual([false, true, true]);
    const silent = createLogger('test', 'silent', () => {});
    expect(silent.enabled?.('error')).toBe(false);
  });
});
