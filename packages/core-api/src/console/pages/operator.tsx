import { ApiError } from '@mosis/shared';
import type { CoreContext } from '../../context.js';
import { sameDigest, sha256Hex } from '../../auth/tokens.js';
import { clientInfo } from '../../client.js';
import { apiMessage, type ApiAnswer } from '../api.js';
import { enc, field, page, preSession, qs, readForm, redirect, secure, type ConsolePages } from '../context.js';
import { COOKIES, csrfToken, dropCookie, putCookie, readCookie } from '../session.js';
import { Badge, CsrfField, ErrorAlert, Layout, TextArea, Time } from '../views/layout.js';

const STATUSES = ['review', 'approved', 'rejected', 'published', 'draft'] as const;
const QUEUE_ITEMS = 100;

interface Queued {
  app_id: string;
  package_id: string;
  app_name: string;
  version_code: number;
  version_name: string;
  status: string;
  review_notes: string | null;
  package: { sha256: string; size: number } | null;
  created_at: string;
}

/**
 * The operator's console: sign in with ADMIN_TOKEN (checked once, in constant time; the console then holds
 * an in-memory operator session, so the token itself is never stored in a browser), the review queue and its
 * decisions, suspending and reinstating apps. Every decision goes through /v1/admin and lands in the
 * developer's audit log. Without ADMIN_TOKEN none of it exists (404), as /v1/admin.
 */
export const register: ConsolePages = (app, d) => {
  const adminToken = d.config.ADMIN_TOKEN;
  const want = adminToken ? sha256Hex(adminToken) : undefined;

  app.use('/operator/*', async (c, next) => {
    if (!want) throw ApiError.notFound('The operator console is off on this server: it needs ADMIN_TOKEN set.');
    await next();
  });
  app.use('/operator', async (c, next) => {
    if (!want) throw ApiError.notFound('The operator console is off on this server: it needs ADMIN_TOKEN set.');
    await next();
  });

  /** The operator session of this request, or off to the operator sign-in. */
  const operator = (c: CoreContext): string => {
    const token = readCookie(c, COOKIES.operator);
    if (!d.operators.valid(token)) redirect('/console/operator/sign-in');
    return token!;
  };

  const signInPage = (c: CoreContext, error?: string, status: 200 | 401 | 429 = 200) => {
    const view = { assets: d.assets, csrf: csrfToken(preSession(c, d)) };
    return page(
      c,
      <Layout view={view} title="Operator sign-in" notice={c.req.query('notice')}>
        <h1>Operator sign-in</h1>
        <p class="lead">For the people who run this server: the review queue. Sign in with the server's ADMIN_TOKEN.</p>
        <ErrorAlert message={error} />
        <form class="stack" method="post" action="/console/operator/sign-in">
          <CsrfField token={view.csrf} />
          <label>
            Admin token
            <input type="password" name="token" required autocomplete="off" />
          </label>
          <div>
            <button type="submit">Sign in as operator</button>
          </div>
        </form>
      </Layout>,
      status,
    );
  };

  app.get('/operator/sign-in', (c) => (d.operators.valid(readCookie(c, COOKIES.operator)) ? c.redirect('/console/operator', 303) : signInPage(c)));

  app.post('/operator/sign-in', async (c) => {
    const f = await readForm(c, d, readCookie(c, COOKIES.preSession));
    const ip = clientInfo(c, d.config.TRUST_PROXY).ip ?? 'unknown';
    try {
      d.operatorFailures.hit(ip);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) return signInPage(c, `Too many failed attempts from your address: ${err.message}. Try again later.`, 429);
      throw err;
    }
    if (!sameDigest(sha256Hex(field(f, 'token')), want!)) return signInPage(c, 'That is not the admin token.', 401);
    d.operatorFailures.forgive(ip);
    putCookie(c, COOKIES.operator, d.operators.start(), secure(c, d));
    dropCookie(c, COOKIES.preSession, secure(c, d));
    return c.redirect('/console/operator', 303);
  });

  app.post('/operator/sign-out', async (c) => {
    const token = readCookie(c, COOKIES.operator);
    await readForm(c, d, token);
    d.operators.end(token);
    dropCookie(c, COOKIES.operator, secure(c, d));
    return c.redirect('/console/operator/sign-in?notice=operator_signed_out', 303);
  });

  const admin = (c: CoreContext, method: string, path: string, json?: unknown) => d.api.call(c, method, path, { bearer: adminToken, json });

  const queuePage = async (c: CoreContext, token: string, error?: string, status: 200 | 400 | 404 | 409 = 200) => {
    const wanted = STATUSES.find((s) => s === c.req.query('status')) ?? 'review';
    const res = await admin(c, 'GET', `/v1/admin/versions${qs({ status: wanted, limit: QUEUE_ITEMS })}`);
    const items = (res.ok ? res.body.items : []) as Queued[];
    const view = { assets: d.assets, csrf: csrfToken(token), operator: true };
    const action = (q: Queued, name: string) => `/console/operator/apps/${enc(q.app_id)}/versions/${q.version_code}/${name}${qs({ status: wanted })}`;
    return page(
      c,
      <Layout view={view} title="Review queue" nav="operator" notice={c.req.query('notice')}>
        <h1>Review queue</h1>
        <form class="row" method="get" action="/console/operator">
          <label>
            Versions in state
            <select name="status">
              {STATUSES.map((s) => (
                <option value={s} selected={s === wanted}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="secondary">
            Show
          </button>
        </form>
        <ErrorAlert message={error} />
        {!res.ok && <ErrorAlert message={apiMessage(res)} />}
        {res.ok && items.length === 0 && <p>No versions are {wanted === 'review' ? 'waiting for review' : `in state ${wanted}`}.</p>}
        {items.map((q) => (
          <section class="widget" data-queued={`${q.package_id}:${q.version_code}`} aria-label={`${q.app_name} ${q.version_name}`}>
            <h2>
              {q.app_name} {q.version_name} <Badge status={q.status} />
            </h2>
            <dl class="facts">
              <dt>Package id</dt>
              <dd class="mono">{q.package_id}</dd>
              <dt>Version code</dt>
              <dd>{q.version_code}</dd>
              <dt>Package</dt>
              <dd class="mono">{q.package ? `${q.package.sha256} (${q.package.size.toLocaleString('en')} bytes, signature verified)` : 'none'}</dd>
              <dt>Created</dt>
              <dd>
                <Time iso={q.created_at} />
              </dd>
              {q.review_notes && (
                <>
                  <dt>Notes</dt>
                  <dd>{q.review_notes}</dd>
                </>
              )}
            </dl>
            <div class="row">
              {q.status === 'review' && (
                <form class="inline" method="post" action={action(q, 'approve')}>
                  <CsrfField token={view.csrf} />
                  <button type="submit">Approve</button>
                </form>
              )}{' '}
              {q.status === 'approved' && (
                <form class="inline" method="post" action={action(q, 'publish')}>
                  <CsrfField token={view.csrf} />
                  <button type="submit">Publish</button>
                </form>
              )}
            </div>
            {(q.status === 'review' || q.status === 'approved') && (
              <form class="stack" method="post" action={action(q, 'reject')}>
                <CsrfField token={view.csrf} />
                <TextArea label="Reject with notes for the developer" name="notes" required rows={2} />
                <div>
                  <button type="submit" class="danger">
                    Reject
                  </button>
                </div>
              </form>
            )}
            <AppSuspension appId={q.app_id} csrf={view.csrf} status={wanted} />
          </section>
        ))}
        <h2>Suspend or reinstate an app</h2>
        <form class="stack" method="post" action="/console/operator/apps/suspension">
          <CsrfField token={view.csrf} />
          <label>
            App (package id or app id)
            <input name="app" required />
          </label>
          <TextArea label="Reason (for suspending)" name="reason" rows={2} />
          <div class="row">
            <button type="submit" name="do" value="suspend" class="danger">
              Suspend
            </button>
            <button type="submit" name="do" value="reinstate" class="secondary">
              Reinstate
            </button>
          </div>
        </form>
      </Layout>,
      status,
    );
  };

  app.get('/operator', async (c) => queuePage(c, operator(c)));

  const decided = (c: CoreContext) => `/console/operator${qs({ status: c.req.query('status'), notice: 'decided' })}`;
  const failed = (c: CoreContext, token: string, res: ApiAnswer) => queuePage(c, token, apiMessage(res), res.status === 409 ? 409 : res.status === 404 ? 404 : 400);

  app.post('/operator/apps/:app/versions/:code/:decision{approve|reject|publish}', async (c) => {
    const token = operator(c);
    const f = await readForm(c, d, token);
    const decision = c.req.param('decision');
    const res = await admin(c, 'POST', `/v1/admin/apps/${enc(c.req.param('app'))}/versions/${enc(c.req.param('code'))}/${decision}`, decision === 'reject' ? { notes: field(f, 'notes') } : undefined);
    return res.ok ? c.redirect(decided(c), 303) : failed(c, token, res);
  });

  const suspension = async (c: CoreContext, token: string, appRef: string, what: string, reason: string) => {
    if (what !== 'suspend' && what !== 'reinstate') return queuePage(c, token, 'Choose suspend or reinstate.', 400);
    const res = await admin(c, 'POST', `/v1/admin/apps/${enc(appRef)}/${what}`, what === 'suspend' && reason ? { reason } : {});
    return res.ok ? c.redirect(decided(c), 303) : failed(c, token, res);
  };
  app.post('/operator/apps/suspension', async (c) => {
    const token = operator(c);
    const f = await readForm(c, d, token);
    return suspension(c, token, field(f, 'app').trim(), field(f, 'do'), field(f, 'reason'));
  });
  app.post('/operator/apps/:app/suspension', async (c) => {
    const token = operator(c);
    const f = await readForm(c, d, token);
    return suspension(c, token, c.req.param('app'), field(f, 'do'), field(f, 'reason'));
  });
};

const AppSuspension = ({ appId, csrf, status }: { appId: string; csrf: string; status: string }) => (
  <details>
    <summary>Suspend this app</summary>
    <form class="stack" method="post" action={`/console/operator/apps/${enc(appId)}/suspension${qs({ status })}`}>
      <CsrfField token={csrf} />
      <TextArea label="Reason" name="reason" rows={2} />
      <div class="row">
        <button type="submit" name="do" value="suspend" class="danger">
          Suspend app
        </button>
        <button type="submit" name="do" value="reinstate" class="secondary">
          Reinstate app
        </button>
      </div>
    </form>
  </details>
);

