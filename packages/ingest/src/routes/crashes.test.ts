import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CRASHES_BODY_BYTES } from '../limits.js';
import { crash, event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';
let t: TestIngest;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: APP }, { packageId: 'com.dev.suspended', status: 'suspended' }] });
});
afterAll(() => t.stop());

const post = (body: unknown, opts?: Parameters<TestIngest['post']>[2]) => t.post('/v1/crashes', body, opts);

describe('POST /v1/crashes', () => {
  it('stores crash reports in their month partition with a fingerprint, one group per bug', async () => {
    const res = await post({
      sent_at: new Date().toISOString(),
      crashes: [
        crash(APP, { device_id: 'd1' }),
        crash(APP, { device_id: 'd2', stack_trace: '#00 pc 00000000000aaaa0  /system/lib64/libc.so (abort+168)\n#01 pc 0000000000099999  /data/app/libgame.so (render+24)' }),
        crash(APP, { device_id: 'd3', crash_type: 'anr', stack_trace: 'at com.dev.Main.loop(Main.java:10)' }),
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    const groups = t.telemetry.prepare('SELECT crash_type, fingerprint, count(*) AS n FROM crash_reports GROUP BY fingerprint ORDER BY n DESC').all() as Array<{ crash_type: string; n: number }>;
    expect(groups.map((g) => [g.crash_type, g.n])).toEqual([
      ['native_signal', 2],
      ['anr', 1],
    ]);
    const row = t.telemetry.prepare("SELECT app_version, message, context, created_at FROM crash_reports WHERE crash_type = 'anr'").get();
    expect(row).toMatchObject({ app_version: '1.2.0', message: 'SIGSEGV', context: '{"memory_mb":512}' });
  });

  it('rejects bad crash reports one by one', async () => {
    const res = await post({
      crashes: [
        crash(APP, { stack_trace: 'x'.repeat(256 * 1024 + 1) }),
        crash(APP, { context: { big: 'x'.repeat(8 * 1024) } }),
        crash(APP, { app_version: undefined }),
        crash(APP, { crash_type: 'bad type!' }),
        crash('com.dev.suspended'),
        crash('com.nobody'),
        crash(APP, { timestamp: new Date(Date.now() - 100 * 86_400_000).toISOString() }),
        crash(APP, { stack_trace: 'y'.repeat(256 * 1024) }),
      ],
    });
    const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; reason: string; field?: string }> };
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => [r.index, r.reason, r.field])).toEqual([
      [0, 'stack_trace_too_large', 'stack_trace'],
      [1, 'context_too_large', 'context'],
      [2, 'invalid_crash', 'app_version'],
      [3, 'invalid_crash', 'crash_type'],
      [4, 'app_suspended', undefined],
      [5, 'unknown_app', undefined],
      [6, 'timestamp_out_of_window', 'timestamp'],
    ]);
  });

  it('rejects a context nested deeper than 32 levels alone, naming the field, and stores its neighbours', async () => {
    const deep = '{"a":'.repeat(4_199) + '{}' + '}'.repeat(4_199);
    const raw = JSON.stringify({ crashes: [crash(APP), crash(APP, { context: 'DEEP' }), crash(APP)] }).replace('"DEEP"', deep);
    const res = await post(undefined, { raw });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; rejected: Array<{ index: number; reason: string; field?: string }> };
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r) => [r.index, r.reason, r.field])).toEqual([[1, 'invalid_crash', 'context']]);
  });

  it('refuses 101 crashes, an events body, and a body over 4 MiB', async () => {
    const tooMany = await post({ crashes: Array.from({ length: 101 }, () => crash(APP)) });
    expect(tooMany.status).toBe(400);
    const wrongKey = await post({ events: [event(APP)] });
    expect(wrongKey.status).toBe(400);
    const big = await post({ crashes: Array.from({ length: 20 }, () => crash(APP, { stack_trace: 'z'.repeat(MAX_CRASHES_BODY_BYTES / 16) })) });
    expect(big.status).toBe(413);
    const bigGzip = await post({ crashes: Array.from({ length: 20 }, () => crash(APP, { stack_trace: 'z'.repeat(MAX_CRASHES_BODY_BYTES / 16) })) }, { gzip: true });
    expect(bigGzip.status).toBe(413);
  });

  it('accepts 100 crashes in a gzip body of more than 1 MiB inflated', async () => {
    const res = await post({ crashes: Array.from({ length: 100 }, () => crash(APP, { stack_trace: 'at a.b(C.java:1)\n' + 'w'.repeat(30_000) })) }, { gzip: true });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 100 });
  });
});
