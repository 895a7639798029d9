import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crash, event, startTestIngest, type TestIngest } from '../testing.js';

const APP = 'com.dev.app';
let t: TestIngest;
beforeAll(async () => {
  t = await startTestIngest({ apps: [{ packageId: APP }] });
});
afterAll(() => t.stop());

/** Any JSON value, including the shapes an envelope and its events are made of. */
const anyJson = fc.jsonValue({ maxDepth: 4 });
const fieldValue = fc.oneof(anyJson, fc.string(), fc.uuid(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant(APP));

/** A valid event with some fields replaced, removed or added. */
const mutatedEvent = fc
  .record({
    base: fc.constant(null).map(() => event(APP)),
    replace: fc.dictionary(fc.constantFrom('event_id', 'app', 'device_id', 'event_type', 'timestamp', 'mosis_version', 'data', 'extra', '__proto__', 'constructor'), fieldValue, { maxKeys: 3 }),
    remove: fc.subarray(['event_id', 'app', 'device_id', 'event_type', 'timestamp', 'mosis_version', 'data']),
  })
  .map(({ base, replace, remove }) => {
    const e: Record<string, unknown> = { ...base, ...replace };
    for (const k of remove) delete e[k];
    return e;
  });

const envelope = fc.oneof(
  anyJson,
  fc.record({ sent_at: fc.option(fieldValue, { nil: undefined }), events: fc.array(fc.oneof(mutatedEvent, anyJson), { minLength: 0, maxLength: 20 }) }, { requiredKeys: ['events'] }),
  fc.record({ events: fieldValue }),
);

const CRASH_FIELDS = ['crash_id', 'app', 'app_version', 'device_id', 'crash_type', 'message', 'stack_trace', 'context', 'mosis_version', 'timestamp'];
const mutatedCrash = fc
  .record({
    base: fc.constant(null).map(() => crash(APP)),
    replace: fc.dictionary(fc.constantFrom(...CRASH_FIELDS, '__proto__'), fieldValue, { maxKeys: 3 }),
    remove: fc.subarray(CRASH_FIELDS),
  })
  .map(({ base, replace, remove }) => {
    const c: Record<string, unknown> = { ...base, ...replace };
    for (const k of remove) delete c[k];
    return c;
  });

async function send(body: string | Buffer, headers: Record<string, string> = {}, path = '/v1/events'): Promise<Response> {
  return t.app.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('random and mutated envelopes', () => {
  it('never produce a 500: every answer is a 202 or a 4xx in the contract shape', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, async (body) => {
        const res = await send(JSON.stringify(body));
        expect([202, 400, 413, 415]).toContain(res.status);
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status === 202) {
          const b = json as { accepted: number; duplicates: number; rejected: unknown[] };
          const n = (body as { events: unknown[] }).events.length;
          expect(b.accepted + b.duplicates + b.rejected.length).toBe(n);
        } else {
          expect(json).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never produce a 500 on /v1/crashes either', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(mutatedCrash, anyJson), { minLength: 1, maxLength: 10 }), fc.option(fieldValue, { nil: undefined }), async (crashes, sentAt) => {
        const res = await send(JSON.stringify({ sent_at: sentAt, crashes }), {}, '/v1/crashes');
        expect([202, 400]).toContain(res.status);
        const json = (await res.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
        if (res.status === 202) expect(json.accepted + json.duplicates + json.rejected.length).toBe(crashes.length);
      }),
      { numRuns: 200 },
    );
  });

  it('never produce a 500 from random bytes, truncations or bit flips, plain or gzip', async () => {
    const valid = Buffer.from(JSON.stringify({ events: [event(APP), event(APP)] }));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
        const b = Buffer.from(valid);
        b[i] = b[i]! ^ x;
        return b;
      }),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.boolean(), fc.boolean(), async (body, gzip, truncate) => {
        let payload = gzip ? gzipSync(body) : body;
        if (gzip && truncate) payload = payload.subarray(0, Math.max(1, payload.length - 5));
        const res = await send(payload, gzip ? { 'content-encoding': 'gzip' } : {});
        expect(res.status).toBeLessThan(500);
        await res.arrayBuffer();
      }),
      { numRuns: 300 },
    );
  });
});
