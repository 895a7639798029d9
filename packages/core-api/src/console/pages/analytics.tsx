import type { CoreContext } from '../../context.js';
import { CONSOLE_CHART_MAX_EVENT_TYPES, CONSOLE_LIVE_MAX_ROWS, CONSOLE_PAGE_ITEMS } from '../../limits.js';
import type { ApiAnswer } from '../api.js';
import { apiMessage } from '../api.js';
import { developer, enc, must, page, qs, type ConsolePages } from '../context.js';
import { AppHeader } from '../views/app-shell.js';
import { ErrorAlert, Layout, Time } from '../views/layout.js';
import { Chart, Widget, type ChartRow } from '../views/widgets.js';
import { loadApp } from './apps.js';

const DAY_MS = 86_400_000;
/** Ranges the overview offers, in days ending today (UTC); the first is the default. */
const RANGES = [30, 7, 90] as const;
const INTERVALS = ['day', 'week', 'month'] as const;
const BREAKDOWNS = ['event_type', 'mosis_version', 'app_version'] as const;
/** How often the live view asks for new events. */
export const LIVE_POLL_MS = 1000;
/** Rows of a breakdown shown (the rest are the API's other_count). */
const BREAKDOWN_ROWS = 20;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The range query of every analytics call: whole UTC days, both included. */
function range(days: number, now = Date.now()) {
  const to = dayOf(now);
  return { from: dayOf(Date.parse(`${to}T00:00:00Z`) - (days - 1) * DAY_MS), to, days };
}

/**
 * GET /analytics/daily as a chart: one series per event type (the most frequent CONSOLE_CHART_MAX_EVENT_TYPES,
 * the rest summed as "other"), one row per day.
 */
function eventsChart(items: { date: string; event_type: string; count: number }[]): { series: string[]; rows: ChartRow[] } {
  const totals = new Map<string, number>();
  for (const i of items) totals.set(i.event_type, (totals.get(i.event_type) ?? 0) + i.count);
  const ranked = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
  const shown = ranked.slice(0, CONSOLE_CHART_MAX_EVENT_TYPES);
  const other = ranked.length > shown.length;
  const series = other ? [...shown, 'other'] : shown;
  const byDay = new Map<string, number[]>();
  for (const i of items) {
    const row = byDay.get(i.date) ?? byDay.set(i.date, series.map(() => 0)).get(i.date)!;
    const at = shown.indexOf(i.event_type);
    row[at === -1 ? series.length - 1 : at]! += i.count;
  }
  const rows = [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([date, values]) => ({ x: Date.parse(`${date}T00:00:00Z`), label: date, values }));
  return { series, rows };
}

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(v === 100 ? 0 : 2)}%` : '—');
const num = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('en') : '—');

/** An app's analytics: the overview (charts, summary, breakdown), the live events, crash groups and reports. */
export const register: ConsolePages = (app, d) => {
  app.get('/apps/:id', async (c) => {
    const dev = await developer(c, d);
    const a = await loadApp(c, d, dev, c.req.param('id'));
    const days = RANGES.find((r) => String(r) === c.req.query('days')) ?? RANGES[0];
    const interval = INTERVALS.find((i) => i === c.req.query('interval')) ?? 'day';
    const dataKey = (c.req.query('key') ?? '').trim();
    const byChoice = c.req.query('by') === 'data' && /^[A-Za-z0-9_.:-]{1,64}$/.test(dataKey) ? 'data' : (BREAKDOWNS.find((b) => b === c.req.query('by')) ?? 'event_type');
    const by = byChoice === 'data' ? `data.${dataKey}` : byChoice;
    const r = range(days);
    const base = `/v1/apps/${enc(a.id)}`;
    const get = (path: string) => d.api.call(c, 'GET', path, { bearer: dev.token });
    const [daily, summary, active, breakdown] = await Promise.all([
      get(`${base}/analytics/daily${qs({ from: r.from, to: r.to })}`),
      get(`${base}/analytics/summary${qs({ from: r.from, to: r.to })}`),
      get(`${base}/analytics/active-devices${qs({ from: r.from, to: r.to, interval })}`),
      get(`${base}/analytics/breakdown${qs({ by, from: r.from, to: r.to, limit: BREAKDOWN_ROWS })}`),
    ]);
    const events = daily.ok ? eventsChart(daily.body.items) : undefined;
    const activeRows: ChartRow[] = active.ok
      ? (active.body.items as { period_start: string; devices: number }[]).map((i) => ({ x: Date.parse(i.period_start), label: i.period_start.slice(0, 10), values: [i.devices] }))
      : [];
    const s = summary.ok ? summary.body : {};
    return page(
      c,
      <Layout view={dev.view} title={`${a.name}: overview`} nav="apps" charts notice={c.req.query('notice')}>
        <AppHeader app={a} tab="overview" />
        <form class="row" method="get" action={`/console/apps/${enc(a.id)}`} aria-label="Range and breakdown">
          <label>
            Range
            <select name="days">
              {RANGES.map((n) => (
                <option value={String(n)} selected={n === days}>{`Last ${n} days`}</option>
              ))}
            </select>
          </label>
          <label>
            Active devices per
            <select name="interval">
              {INTERVALS.map((i) => (
                <option value={i} selected={i === interval}>
                  {i}
                </option>
              ))}
            </select>
          </label>
          <label>
            Breakdown by
            <select name="by">
              {BREAKDOWNS.map((b) => (
                <option value={b} selected={b === byChoice}>
                  {b}
                </option>
              ))}
              <option value="data" selected={byChoice === 'data'}>
                a data key
              </option>
            </select>
          </label>
          <label>
            Data key
            <input name="key" value={dataKey} size={12} placeholder="screen" />
          </label>
          <button type="submit" class="secondary">
            Apply
          </button>
        </form>
        <p class="hint">
          {r.from} to {r.to} (UTC days).
        </p>

        <Widget id="summary" title="Summary" answer={summary}>
          <div class="tiles" data-summary>
            <div class="tile">
              <div class="value" data-field="events">{num(s.events)}</div>
              <div class="label">events</div>
            </div>
            <div class="tile">
              <div class="value" data-field="devices">{num(s.devices)}</div>
              <div class="label">devices</div>
            </div>
            <div class="tile">
              <div class="value" data-field="crashes">{num(s.crashes)}</div>
              <div class="label">crashes</div>
            </div>
            <div class="tile">
              <div class="value" data-field="crashed_devices">{num(s.crashed_devices)}</div>
              <div class="label">devices with a crash</div>
            </div>
          </div>
        </Widget>

        <Widget id="events" title="Events per day, by type" answer={daily}>
          {events && events.rows.length > 0 ? (
            <Chart id="events" caption="Events per UTC day; each line one event type." xLabel="Day" series={events.series} rows={events.rows} />
          ) : (
            <p>No events in this range yet.</p>
          )}
        </Widget>

        <Widget id="active-devices" title={`Active devices per ${interval}`} answer={active}>
          {active.ok && (
            <>
              <p>
                <span data-field="total_devices">{num(active.body.total_devices)}</span> distinct devices over the whole range (not the sum of the periods).
              </p>
              {activeRows.length > 0 ? (
                <Chart id="active-devices" kind="bars" caption={`Distinct devices per ${interval}.`} xLabel={`${interval[0]!.toUpperCase()}${interval.slice(1)} starting`} series={['devices']} rows={activeRows} />
              ) : (
                <p>No devices in this range yet.</p>
              )}
            </>
          )}
        </Widget>

        <Widget id="crash-free" title="Crash-free devices" answer={summary}>
          <p>
            <strong class="tile-value" data-field="crash_free_devices_pct">
              {pct(s.crash_free_devices_pct)}
            </strong>{' '}
            of the {num(s.devices)} devices that sent events had no crash ({num(s.crashed_devices)} did).
          </p>
          {typeof s.crash_free_devices_pct === 'number' && (
            <meter min={0} max={100} low={99} high={99.5} optimum={100} value={s.crash_free_devices_pct} aria-label="crash-free devices, percent">
              {pct(s.crash_free_devices_pct)}
            </meter>
          )}
        </Widget>

        <Widget id="breakdown" title={`Breakdown by ${by}`} answer={breakdown}>
          {breakdown.ok && <BreakdownTable answer={breakdown} />}
        </Widget>
      </Layout>,
    );
  });

  app.get('/apps/:id/live', async (c) => {
    const dev = await developer(c, d);
    const a = await loadApp(c, d, dev, c.req.param('id'));
    return page(
      c,
      <Layout view={dev.view} title={`${a.name}: live events`} nav="apps">
        <AppHeader app={a} tab="live" />
        <section data-live data-app={a.id} data-poll-ms={String(LIVE_POLL_MS)} data-max-rows={String(CONSOLE_LIVE_MAX_ROWS)} aria-labelledby="live-title">
          <h2 id="live-title">Live events</h2>
          <p class="hint">The newest events first; new ones appear within a second of being stored. Device ids are the server's hashes.</p>
          <p>
            <button type="button" class="secondary" data-live-toggle aria-pressed="false">
              Pause
            </button>{' '}
            <span class="live-status" data-live-status role="status" aria-live="polite">
              Starting…
            </span>
          </p>
          <noscript>
            <p class="alert info">The live view needs JavaScript.</p>
          </noscript>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event type</th>
                  <th scope="col">Device</th>
                  <th scope="col">App version</th>
                  <th scope="col">Mosis</th>
                  <th scope="col">Data</th>
                </tr>
              </thead>
              <tbody data-live-rows></tbody>
            </table>
          </div>
        </section>
      </Layout>,
    );
  });

  app.get('/apps/:id/crashes', async (c) => {
    const dev = await developer(c, d);
    const a = await loadApp(c, d, dev, c.req.param('id'));
    const days = RANGES.find((r) => String(r) === c.req.query('days')) ?? RANGES[0];
    const r = range(days);
    const groups = await d.api.call(c, 'GET', `/v1/apps/${enc(a.id)}/crash-groups${qs({ from: r.from, to: r.to })}`, { bearer: dev.token });
    type Group = { fingerprint: string; crash_type: string; message: string | null; count: number; devices: number; first_seen: string; last_seen: string; app_versions: string[] };
    const items = (groups.ok ? groups.body.items : []) as Group[];
    return page(
      c,
      <Layout view={dev.view} title={`${a.name}: crashes`} nav="apps">
        <AppHeader app={a} tab="crashes" />
        <form class="row" method="get" action={`/console/apps/${enc(a.id)}/crashes`}>
          <label>
            Range
            <select name="days">
              {RANGES.map((n) => (
                <option value={String(n)} selected={n === days}>{`Last ${n} days`}</option>
              ))}
            </select>
          </label>
          <button type="submit" class="secondary">
            Apply
          </button>
        </form>
        <h2>Crash groups</h2>
        <p class="hint">Crashes with the same fingerprint (type and top frames) form one group, most frequent first.</p>
        {!groups.ok && <ErrorAlert message={apiMessage(groups)} />}
        {groups.ok && items.length === 0 && <p>No crashes in this range.</p>}
        {items.length > 0 && (
          <div class="table-wrap">
            <table data-crash-groups>
              <thead>
                <tr>
                  <th scope="col">Crash</th>
                  <th scope="col" class="num">Crashes</th>
                  <th scope="col" class="num">Devices</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">App versions</th>
                </tr>
              </thead>
              <tbody>
                {items.map((g) => (
                  <tr data-fingerprint={g.fingerprint}>
                    <td>
                      <a href={`/console/apps/${enc(a.id)}/crashes/${enc(g.fingerprint)}`}>{g.message || g.crash_type}</a>
                      <div class="hint mono">{g.crash_type}</div>
                    </td>
                    <td class="num" data-value={String(g.count)}>{num(g.count)}</td>
                    <td class="num" data-value={String(g.devices)}>{num(g.devices)}</td>
                    <td>
                      <Time iso={g.last_seen} />
                    </td>
                    <td>{g.app_versions.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Layout>,
    );
  });

  app.get('/apps/:id/crashes/:fingerprint', async (c) => {
    const dev = await developer(c, d);
    const a = await loadApp(c, d, dev, c.req.param('id'));
    const fingerprint = c.req.param('fingerprint');
    const cursor = c.req.query('cursor');
    const reports = must(await d.api.call(c, 'GET', `/v1/apps/${enc(a.id)}/crashes${qs({ fingerprint, limit: CONSOLE_PAGE_ITEMS, cursor })}`, { bearer: dev.token }));
    type Report = { id: string; crash_type: string; app_version: string; message: string | null; stack_trace: string | null; context: unknown; mosis_version: string | null; device_id: string; timestamp: string };
    const items = reports.body.items as Report[];
    const sample = items.find((i) => i.stack_trace);
    return page(
      c,
      <Layout view={dev.view} title={`${a.name}: crash group`} nav="apps">
        <AppHeader app={a} tab="crashes" />
        <p>
          <a href={`/console/apps/${enc(a.id)}/crashes`}>All crash groups</a>
        </p>
        <h2>{items[0] ? items[0].message || items[0].crash_type : 'Crash group'}</h2>
        <p class="hint mono">fingerprint {fingerprint}</p>
        {items.length === 0 && <p>No raw reports of this group within the retention (90 days).</p>}
        {sample && (
          <>
            <h3>Stack sample</h3>
            <pre data-stack-sample>{sample.stack_trace}</pre>
          </>
        )}
        {items.length > 0 && (
          <>
            <h3>Reports</h3>
            <div class="table-wrap">
              <table data-crash-reports>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">App version</th>
                    <th scope="col">Mosis</th>
                    <th scope="col">Device</th>
                    <th scope="col">Report</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((i) => (
                    <tr data-report={i.id}>
                      <td>
                        <Time iso={i.timestamp} />
                      </td>
                      <td>{i.app_version}</td>
                      <td>{i.mosis_version ?? ''}</td>
                      <td class="mono">{i.device_id}</td>
                      <td>
                        <details>
                          <summary>{i.message || i.crash_type}</summary>
                          {i.stack_trace && <pre>{i.stack_trace}</pre>}
                          {i.context !== null && <pre>{JSON.stringify(i.context, null, 2)}</pre>}
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
        {reports.body.next_cursor && (
          <p class="pager">
            <a href={`/console/apps/${enc(a.id)}/crashes/${enc(fingerprint)}${qs({ cursor: reports.body.next_cursor })}`}>Older reports</a>
          </p>
        )}
      </Layout>,
    );
  });
};

const BreakdownTable = ({ answer }: { answer: ApiAnswer }) => {
  const items = answer.body.items as { value: string | null; count: number; devices: number }[];
  if (items.length === 0) return <p>Nothing to break down in this range.</p>;
  return (
    <div class="table-wrap">
      <table data-breakdown>
        <thead>
          <tr>
            <th scope="col">Value</th>
            <th scope="col" class="num">Events</th>
            <th scope="col" class="num">Devices</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr>
              <th scope="row">{i.value === null ? <span class="hint">(none)</span> : i.value}</th>
              <td class="num" data-value={String(i.count)}>{num(i.count)}</td>
              <td class="num" data-value={String(i.devices)}>{num(i.devices)}</td>
            </tr>
          ))}
          {answer.body.other_count > 0 && (
            <tr>
              <th scope="row">
                <span class="hint">all other values</span>
              </th>
              <td class="num" data-value={String(answer.body.other_count)}>{num(answer.body.other_count)}</td>
              <td></td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
};
