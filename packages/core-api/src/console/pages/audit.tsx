import { CONSOLE_PAGE_ITEMS } from '../../limits.js';
import { apiMessage } from '../api.js';
import { developer, page, qs, type ConsolePages } from '../context.js';
import { ErrorAlert, Layout, Time } from '../views/layout.js';

interface AuditRow {
  id: number;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  details: unknown;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
}

/** The developer's audit log, newest first, a page at a time. */
export const register: ConsolePages = (app, d) => {
  app.get('/audit', async (c) => {
    const dev = await developer(c, d);
    const cursor = c.req.query('cursor');
    const res = await d.api.call(c, 'GET', `/v1/audit-logs${qs({ limit: CONSOLE_PAGE_ITEMS, cursor })}`, { bearer: dev.token });
    const items = (res.ok ? res.body.items : []) as AuditRow[];
    return page(
      c,
      <Layout view={dev.view} title="Audit log" nav="audit">
        <h1>Audit log</h1>
        <p class="lead">Every change to your account, keys, apps and versions, and every review decision, with the address it came from.</p>
        {!res.ok && <ErrorAlert message={apiMessage(res)} />}
        {items.length > 0 && (
          <div class="table-wrap">
            <table data-audit>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Details</th>
                  <th scope="col">From</th>
                </tr>
              </thead>
              <tbody>
                {items.map((r) => (
                  <tr data-action={r.action}>
                    <td>
                      <Time iso={r.created_at} />
                    </td>
                    <td class="mono">{r.action}</td>
                    <td>
                      {r.resource_type ?? ''} <span class="hint mono">{r.resource_id ?? ''}</span>
                    </td>
                    <td class="mono">{r.details === null || r.details === undefined ? '' : JSON.stringify(r.details)}</td>
                    <td>
                      {r.ip_address ?? ''}
                      <div class="hint">{r.user_agent ?? ''}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {res.ok && items.length === 0 && <p>Nothing yet.</p>}
        {res.ok && res.body.next_cursor && (
          <p class="pager">
            <a href={`/console/audit${qs({ cursor: res.body.next_cursor })}`}>Older entries</a>
          </p>
        )}
      </Layout>,
    );
  });
};
