import type { CoreContext } from '../../context.js';
import { apiMessage } from '../api.js';
import { field, page, preSession, readForm, redirect, secure, type ConsoleDeps, type ConsolePages } from '../context.js';
import { COOKIES, csrfToken, dropCookie, putCookie, readCookie } from '../session.js';
import { CONSOLE_DEVICE_COOKIE_MAX_AGE_S } from '../../limits.js';
import { CsrfField, ErrorAlert, Field, Layout } from '../views/layout.js';

type Mode = 'sign-in' | 'sign-up';

function authPage(c: CoreContext, d: ConsoleDeps, mode: Mode, opts: { error?: string; email?: string; name?: string; status?: 200 | 400 | 401 | 409 | 429 } = {}) {
  const nonce = preSession(c, d);
  const view = { assets: d.assets, csrf: csrfToken(nonce) };
  const signUp = mode === 'sign-up';
  return page(
    c,
    <Layout view={view} title={signUp ? 'Create an account' : 'Sign in'} notice={c.req.query('notice')}>
      <h1>{signUp ? 'Create a developer account' : 'Sign in'}</h1>
      <ErrorAlert message={opts.error} />
      <form class="stack" method="post" action={`/console/${mode}`}>
        <CsrfField token={view.csrf} />
        <Field label="Email" name="email" type="email" value={opts.email} required autocomplete="username" />
        {signUp && <Field label="Name" name="name" value={opts.name} required autocomplete="name" />}
        <Field
          label="Password"
          name="password"
          type="password"
          required
          autocomplete={signUp ? 'new-password' : 'current-password'}
          hint={signUp ? 'At least 8 characters; a long passphrase is best.' : undefined}
        />
        <div>
          <button type="submit">{signUp ? 'Create account' : 'Sign in'}</button>
        </div>
      </form>
      <p>
        {signUp ? (
          <>
            Have an account? <a href="/console/sign-in">Sign in</a>.
          </>
        ) : (
          <>
            New here? <a href="/console/sign-up">Create an account</a>.
          </>
        )}{' '}
        Operators: <a href="/console/operator/sign-in">operator sign-in</a>.
      </p>
    </Layout>,
    opts.status ?? 200,
  );
}

/**
 * Sign up, sign in, sign out. The session token and the login's device token go into HttpOnly cookies; the
 * device token is sent back with the next sign-in, so that sign-in is limited per device (nobody else's
 * failures lock this browser out). The forms' CSRF token comes from a pre-session nonce cookie.
 */
export const register: ConsolePages = (app, d) => {
  const startSession = (c: CoreContext, body: { token: string; expires_at: string; device_token?: string }) => {
    const tls = secure(c, d);
    putCookie(c, COOKIES.session, body.token, tls, (Date.parse(body.expires_at) - Date.now()) / 1000);
    if (body.device_token) putCookie(c, COOKIES.device, body.device_token, tls, CONSOLE_DEVICE_COOKIE_MAX_AGE_S);
    dropCookie(c, COOKIES.preSession, tls);
  };

  for (const mode of ['sign-in', 'sign-up'] as const) {
    app.get(`/${mode}`, (c) => (readCookie(c, COOKIES.session) ? c.redirect('/console/apps', 303) : authPage(c, d, mode)));
  }

  app.post('/sign-in', async (c) => {
    const f = await readForm(c, d, readCookie(c, COOKIES.preSession));
    const device = readCookie(c, COOKIES.device);
    const res = await d.api.call(c, 'POST', '/v1/auth/login', {
      json: { email: field(f, 'email'), password: field(f, 'password'), ...(device && { device_token: device }) },
    });
    if (!res.ok) {
      const wait = res.status === 429 ? ` Try again in ${res.body?.error?.details?.retry_after ?? 'a few'} seconds.` : '';
      return authPage(c, d, 'sign-in', { error: apiMessage(res) + wait, email: field(f, 'email'), status: res.status === 429 ? 429 : res.status === 401 ? 401 : 400 });
    }
    startSession(c, res.body);
    return c.redirect('/console/apps', 303);
  });

  app.post('/sign-up', async (c) => {
    const f = await readForm(c, d, readCookie(c, COOKIES.preSession));
    const res = await d.api.call(c, 'POST', '/v1/auth/register', {
      json: { email: field(f, 'email'), name: field(f, 'name'), password: field(f, 'password') },
    });
    if (!res.ok) {
      const status = res.status === 409 ? 409 : res.status === 429 ? 429 : 400;
      return authPage(c, d, 'sign-up', { error: apiMessage(res), email: field(f, 'email'), name: field(f, 'name'), status });
    }
    startSession(c, res.body);
    return c.redirect('/console/apps?notice=welcome', 303);
  });

  app.post('/sign-out', async (c) => {
    const token = readCookie(c, COOKIES.session);
    if (!token) redirect('/console/sign-in');
    await readForm(c, d, token);
    // Ends the session on the server too; an already expired one is just as signed out.
    await d.api.call(c, 'POST', '/v1/auth/logout', { bearer: token });
    dropCookie(c, COOKIES.session, secure(c, d));
    return c.redirect('/console/sign-in?notice=signed_out', 303);
  });
};
