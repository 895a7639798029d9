import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachBackend, type StoreHarness } from './backends.js';
import { randomTelemetry, truthOf, withoutSketch } from './fixtures.js';

// The store contract, retention: raw rows before the cutoff go (whole months dropped, the boundary month
// trimmed), only after they are rolled up; the aggregates stay exactly what the raw rows gave.

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12);
const RETENTION_DAYS = 30;

forEachBackend('store contract: retention', (backend) => {
  let h: StoreHarness;
  beforeAll(async () => {
    h = await backend.open();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('drops whole months and trims the boundary one after rolling up; aggregates are untouched', async () => {
    // 75 days of rows: September (wholly before the cutoff 2026-10-21), October (the boundary), November.
    const f = randomTelemetry(5, { now: NOW, n: 3000, days: 75 });
    for (let i = 0; i < f.events.length; i += 250) await h.writer().write([{ kind: 'events', rows: f.events.slice(i, i + 250) }]);
    await h.writer().write([{ kind: 'crashes', rows: f.crashes }]);
    // Not rolled up yet: prune must roll up before it removes anything.
    const truth = truthOf(await h.raw());
    const result = await h.prune(NOW, RETENTION_DAYS);
    expect(result.cutoffDay).toBe('2026-10-21');
    expect(result.dropped.sort()).toEqual(['crash_reports_2026_09', 'telemetry_events_2026_09']);
    expect(await h.partitions('events')).not.toContain('2026-09');
    expect(await h.partitions('crashes')).not.toContain('2026-09');
    expect(await h.watermark()).toEqual({ events: '2026-10-21', crashes: '2026-10-21' });

    const cutoffDay = Date.UTC(2026, 9, 21) / DAY_MS;
    const raw = await h.raw();
    expect(raw.events.filter((e) => e.day < cutoffDay)).toEqual([]);
    expect(raw.crashes.filter((c) => c.day < cutoffDay)).toEqual([]);
    expect(raw.events.length).toBe(f.events.filter((e) => Math.floor(e.timestamp / DAY_MS) >= cutoffDay).length);

    const agg = await h.aggregates();
    expect(withoutSketch(agg.daily)).toEqual(truth.daily);
    expect(withoutSketch(agg.dims)).toEqual(truth.dims);
    expect(agg.crashDaily).toEqual(truth.crashDaily);
    // Again, and a rollup after it: nothing changes (days before the watermark are final).
    expect((await h.prune(NOW, RETENTION_DAYS)).dropped).toEqual([]);
    await h.rollup(NOW);
    expect(await h.aggregates()).toEqual(agg);
  });
});
