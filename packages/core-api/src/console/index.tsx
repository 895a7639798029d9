import { ApiError, errorBody } from '@mosis/shared';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RateLimiter } from '../auth/rate-limit.js';
import type { CoreApp, CoreContext, CoreDeps, CoreEnv } from '../context.js';
import { CONSOLE_OPERATOR_MAX_FAILURES_PER_IP, LOGIN_WINDOW_MS, MAX_JSON_BODY_BYTES } from '../limits.js';
import { ConsoleApi } from './api.js';
import { page, type ConsoleDeps, type ConsolePages } from './context.js';
import * as analytics from './pages/analytics.js';
import * as apps from './pages/apps.js';
import * as audit from './pages/audit.js';
import * as auth from './pages/auth.js';
import * as keys from './pages/keys.js';
import * as operator from './pages/operator.js';
import * as proxy from './pages/proxy.js';
import * as versions from './pages/versions.js';
import { securityHeaders } from './security.js';
import { COOKIES, OperatorSessions, readCookie } from './session.js';
import { ConsoleAssets } from './static.js';
import { Layout } from './views/layout.js';

/** Every page group of the console, one module per file under pages/. */
const PAGES: ConsolePages[] = [auth.register, apps.register, analytics.register, versions.register, keys.register, audit.register, operator.register, proxy.register];

/**
 * Mounts the web console at /console/ (and GET / → /console/). Server-rendered pages (hono/jsx) with a few
 * small browser modules; every operation is a /v1 request made in process with the session as the bearer
 * (console/api.ts), so the console holds no second implementation of anything.
 */
export function mountConsole(app: CoreApp, deps: CoreDeps): void {
  const web = new Hono<CoreEnv>();
  const d: ConsoleDeps = {
    api: new ConsoleApi(app),
    assets: new ConsoleAssets(),
    config: deps.config,
    operators: new OperatorSessions(),
    operatorFailures: new RateLimiter(CONSOLE_OPERATOR_MAX_FAILURES_PER_IP, LOGIN_WINDOW_MS),
  };
  web.use('*', securityHeaders());
  const formLimit = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: () => {
      throw ApiError.tooLarge(`a console form is at most ${MAX_JSON_BODY_BYTES} bytes`);
    },
  });
  // The JSON proxy passes bodies on to /v1, whose own limits apply (package uploads have theirs).
  web.use('*', (c, next) => (c.req.method === 'POST' && !c.req.path.startsWith('/console/api/') ? formLimit(c, next) : next()));

  web.get('/static/:build/:name{.+}', (c) => d.assets.serve(c, c.req.param('build'), c.req.param('name')));
  const home = (c: CoreContext) => c.redirect(readCookie(c, COOKIES.session) ? '/console/apps' : '/console/sign-in', 303);
  web.get('/', home);
  for (const register of PAGES) register(web, d);
  web.all('*', () => {
    throw ApiError.notFound('There is no such page in the console.');
  });
  web.onError((err, c) => consoleError(err, c, d, deps));

  // Hono tells /console from /console/: both lead in.
  app.get('/console/', home);
  app.route('/console', web);
  app.get('/', (c) => c.redirect('/console/', 302));
}

/** Errors of console routes: the JSON proxy answers the contract's error body, pages a page that says what happened. */
function consoleError(err: Error, c: CoreContext, d: ConsoleDeps, deps: CoreDeps): Response | Promise<Response> {
  if (err instanceof HTTPException && err.res) return err.getResponse();
  let status: ContentfulStatusCode = 500;
  let code = 'internal';
  let message = 'Something went wrong on the server. The error is in its log.';
  if (err instanceof ApiError) {
    ({ status, code, message } = err);
  } else if (err instanceof HTTPException && err.status < 500) {
    status = err.status;
    code = 'bad_request';
    message = err.message || 'bad request';
  } else {
    deps.log.error('console error', { err, method: c.req.method, path: c.req.path });
  }
  if (c.req.path.startsWith('/console/api/')) return c.json(errorBody(code, message), status);
  const title = status === 404 ? 'Not found' : status === 403 ? 'Refused' : status >= 500 ? 'Server error' : 'Cannot do that';
  return page(
    c,
    <Layout view={{ assets: d.assets }} title={title}>
      <h1>{title}</h1>
      <p class="alert error" role="alert" data-error-code={code}>
        {message}
      </p>
      <p>
        <a href="/console/">Back to the console</a>
      </p>
    </Layout>,
    status,
  );
}
