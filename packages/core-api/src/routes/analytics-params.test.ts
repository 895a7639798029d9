import { addDays } from '@mosis/ingest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BREAKDOWN_ITEMS, MAX_CRASH_GROUPS, MAX_EVENTS_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_RANGE_DAYS } from '../limits.js';
import { createTestApp, type TestApp } from '../test-app.js';

/**
 * Every analytics route, every kind of bad parameter: a 400 `invalid_query` whose message starts with the
 * parameter's name, never a 500 and never a silently different answer.
 */

let t: TestApp;
let token: string;
let appId: string;
beforeAll(async () => {
  t = await createTestApp();
  token = (await t.signup()).token;
  appId = (await t.newApp(token)).id;
});
afterAll(() => t.close());

const today = new Date().toISOString().slice(0, 10);
const tooLong = `from=${addDays(today, -MAX_RANGE_DAYS)}&to=${today}`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** [route under /v1/apps/{id}/, query, the parameter the 400 must name]. */
const SCENARIOS: Array<[route: string, query: string, param: string]> = [
  ['analytics/daily', 'from=2026-1-01', 'from'],
  ['analytics/daily', 'to=2026-02-30', 'to'],
  ['analytics/daily', "from=';DROP TABLE x", 'from'],
  ['analytics/daily', 'from=2026-11-03&to=2026-11-01', 'from'],
  ['analytics/daily', tooLong, 'from'],
  ['analytics/daily', 'event_type=a%20b', 'event_type'],
  ['analytics/daily', `event_type=${'x'.repeat(65)}`, 'event_type'],
  ['analytics/active-devices', 'interval=year', 'interval'],
  ['analytics/active-devices', 'interval=', 'interval'],
  ['analytics/active-devices', 'to=yesterday', 'to'],
  ['analytics/active-devices', tooLong, 'from'],
  ['analytics/breakdown', '', 'by'],
  ['analytics/breakdown', 'by=country', 'by'],
  ['analytics/breakdown', 'by=data.', 'by'],
  ['analytics/breakdown', 'by=data.a-b', 'by'],
  ['analytics/breakdown', `by=data.${'k'.repeat(65)}`, 'by'],
  ['analytics/breakdown', 'by=data.x%22%29', 'by'],
  ['analytics/breakdown', 'by=event_type&limit=0', 'limit'],
  ['analytics/breakdown', `by=event_type&limit=${MAX_BREAKDOWN_ITEMS + 1}`, 'limit'],
  ['analytics/breakdown', 'by=event_type&limit=ten', 'limit'],
  ['analytics/breakdown', 'by=event_type&event_type=no%20spaces', 'event_type'],
  ['analytics/breakdown', `by=data.screen&from=${addDays(today, -120)}&to=${today}`, 'from'],
  ['analytics/breakdown', `by=event_type&${tooLong}`, 'from'],
  ['analytics/summary', 'from=2026-13-01', 'from'],
  ['analytics/summary', tooLong, 'from'],
  ['crash-groups', 'limit=0', 'limit'],
  ['crash-groups', `limit=${MAX_CRASH_GROUPS + 1}`, 'limit'],
  ['crash-groups', 'from=2026/11/01', 'from'],
  ['crashes', `limit=${MAX_PAGE_LIMIT + 1}`, 'limit'],
  ['crashes', 'cursor=!!!', 'cursor'],
  ['crashes', `cursor=${b64([1, 0])}`, 'cursor'],
  ['crashes', `fingerprint=${'f'.repeat(129)}`, 'fingerprint'],
  ['events', 'from=yesterday', 'from'],
  ['events', 'to=2026-11-28', 'to'],
  ['events', 'from=2026-11-28T10:00:00', 'from'],
  ['events', 'from=2026-11-28T10:00:00Z&to=2026-11-28T09:59:59.999Z', 'from'],
  ['events', 'limit=0', 'limit'],
  ['events', `limit=${MAX_EVENTS_PAGE_LIMIT + 1}`, 'limit'],
  ['events', 'event_type=a%2Fb', 'event_type'],
  ['events', `device_id=${'d'.repeat(257)}`, 'device_id'],
  ['events', 'device_id=', 'device_id'],
  ['events', 'cursor=not-a-cursor', 'cursor'],
  ['events', `cursor=${b64([1.5, 1])}`, 'cursor'],
  ['events', `cursor=${'A'.repeat(600)}`, 'cursor'],
  ['events', 'after=', 'after'],
  ['events', 'after=%7B%7D', 'after'],
  ['events', `after=${b64({ '2026-11': -1 })}`, 'after'],
  ['events', `after=${b64({ november: 1 })}`, 'after'],
  ['events', `after=${b64([1])}`, 'after'],
  ['events', `after=${'A'.repeat(9000)}`, 'after'],
  ['events', `after=${b64({})}&from=2026-11-28T10:00:00Z`, 'after'],
  ['events', `after=${b64({})}&cursor=${b64([1, 1])}`, 'after'],
  ['events', `after=${b64({})}&device_id=x&event_type=open`, 'after'],
  ['events', `after=${b64({})}&limit=0`, 'limit'],
];

describe('bad analytics parameters', () => {
  it.each(SCENARIOS)('/v1/apps/{id}/%s?%s: 400 invalid_query naming %s', async (route, query, param) => {
    const res = await t.call('GET', `/v1/apps/${appId}/${route}?${query}`, { token });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe('invalid_query');
    expect(res.body.error.message).toMatch(new RegExp(`^${param}: `));
  });

  it('names every listing parameter mixed with after', async () => {
    const res = await t.call('GET', `/v1/apps/${appId}/events?after=${b64({})}&from=2026-11-28T10:00:00Z&to=2026-11-28T11:00:00Z&limit=5`, { token });
    expect(res.body.error.details).toEqual({ after_with: ['from', 'to'] });
  });

  it.each([
    ['analytics/daily', `from=${addDays(today, -(MAX_RANGE_DAYS - 1))}&to=${today}&event_type=x`],
    ['analytics/active-devices', `from=${addDays(today, -(MAX_RANGE_DAYS - 1))}&to=${today}&interval=month`],
    ['analytics/breakdown', `by=data.screen&from=${addDays(today, -90)}&to=${today}&limit=${MAX_BREAKDOWN_ITEMS}`],
    ['analytics/summary', `from=${addDays(today, -(MAX_RANGE_DAYS - 1))}&to=${today}`],
    ['events', `from=2026-11-28T10:00:00%2B02:00&to=2026-11-28T10:00:00Z&limit=${MAX_EVENTS_PAGE_LIMIT}&cursor=`],
    ['events', `after=${b64({ '2026-11': 0 })}&limit=${MAX_EVENTS_PAGE_LIMIT}`],
  ])('accepts the limits themselves: %s?%s', async (route, query) => {
    const res = await t.call('GET', `/v1/apps/${appId}/${route}?${query}`, { token });
    expect(res.status, res.text).toBe(200);
  });
});
