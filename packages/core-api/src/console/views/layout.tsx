import type { Child, FC } from 'hono/jsx';
import type { ConsoleAssets } from '../static.js';

/** What every page knows: where the static files are, the form token, who is signed in. */
export interface View {
  assets: ConsoleAssets;
  /** CSRF token of the current cookie secret (session, operator or pre-session), for forms and scripts. */
  csrf?: string;
  developer?: { id: string; name: string; email: string };
  operator?: boolean;
}

type NavKey = 'apps' | 'keys' | 'signing-keys' | 'audit' | 'operator' | undefined;

const NOTICES: Record<string, string> = {
  welcome: 'Welcome! Create your first app below.',
  app_created: 'App created.',
  app_saved: 'App saved.',
  version_created: 'Version created. Upload its package next.',
  package_verified: 'Package uploaded: its signature verified.',
  submitted: 'Submitted for review.',
  signature_changed: 'Signature replaced.',
  key_revoked: 'API key revoked.',
  signing_key_added: 'Signing key added.',
  signing_key_deactivated: 'Signing key deactivated: it signs no new uploads.',
  signed_out: 'You are signed out.',
  decided: 'Done.',
  operator_signed_out: 'Operator session ended.',
};

/** The text of a `?notice=` code; unknown codes show nothing (no user text is ever reflected). */
export function noticeText(code: string | undefined): string | undefined {
  return code ? NOTICES[code] : undefined;
}

export const Layout: FC<{ view: View; title: string; nav?: NavKey; charts?: boolean; notice?: string; children?: Child }> = ({ view, title, nav, charts, notice, children }) => {
  const { assets } = view;
  const link = (key: NavKey, href: string, text: string) => (
    <li>
      <a href={href} aria-current={nav === key ? 'page' : undefined}>
        {text}
      </a>
    </li>
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Mosis console`}</title>
        <link rel="icon" type="image/svg+xml" href={assets.url('icon.svg')} />
        <link rel="stylesheet" href={assets.url('console.css')} />
        {charts && <link rel="stylesheet" href={assets.url('vendor/uPlot.min.css')} />}
        {view.csrf && <meta name="csrf-token" content={view.csrf} />}
        {charts && <script src={assets.url('vendor/uPlot.iife.min.js')} defer></script>}
        <script type="module" src={assets.url('main.js')}></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/console/">
            Mosis console
          </a>
          {view.developer && (
            <nav aria-label="Main">
              <ul>
                {link('apps', '/console/apps', 'Apps')}
                {link('keys', '/console/keys', 'API keys')}
                {link('signing-keys', '/console/signing-keys', 'Signing keys')}
                {link('audit', '/console/audit', 'Audit log')}
              </ul>
            </nav>
          )}
          {view.operator && (
            <nav aria-label="Operator">
              <ul>{link('operator', '/console/operator', 'Review queue')}</ul>
            </nav>
          )}
          {view.developer && (
            <form class="inline" method="post" action="/console/sign-out">
              <CsrfField token={view.csrf} />
              <button class="secondary" type="submit" title={view.developer.email}>
                Sign out
              </button>
            </form>
          )}
          {view.operator && (
            <form class="inline" method="post" action="/console/operator/sign-out">
              <CsrfField token={view.csrf} />
              <button class="secondary" type="submit">
                End operator session
              </button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          {noticeText(notice) && (
            <p class="alert ok" role="status">
              {noticeText(notice)}
            </p>
          )}
          {children}
        </main>
      </body>
    </html>
  );
};

/** The hidden form field carrying the CSRF token. */
export const CsrfField: FC<{ token: string | undefined }> = ({ token }) => <input type="hidden" name="_csrf" value={token ?? ''} />;

/** An error from the API (or the console), in words. */
export const ErrorAlert: FC<{ message: string | undefined }> = ({ message }) =>
  message ? (
    <p class="alert error" role="alert">
      {message}
    </p>
  ) : null;

/** A status badge (draft, review, published, ...). */
export const Badge: FC<{ status: string }> = ({ status }) => <span class={`badge ${status}`}>{status}</span>;

/** A time, readable and machine-readable. */
export const Time: FC<{ iso: string | null | undefined }> = ({ iso }) =>
  iso ? <time datetime={iso}>{iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time> : <span class="hint">never</span>;

/** Labelled input. */
export const Field: FC<{
  label: string;
  name: string;
  value?: string | number | undefined;
  type?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  extra?: Record<string, string | number | boolean | undefined>;
}> = ({ label, name, value, type = 'text', hint, required, autocomplete, extra }) => (
  <label>
    {label}
    {hint && <span class="hint">{hint}</span>}
    <input name={name} type={type} value={value === undefined ? undefined : String(value)} required={required} autocomplete={autocomplete} {...extra} />
  </label>
);

export const TextArea: FC<{ label: string; name: string; value?: string | undefined; hint?: string; required?: boolean; rows?: number }> = ({
  label,
  name,
  value,
  hint,
  required,
  rows = 4,
}) => (
  <label>
    {label}
    {hint && <span class="hint">{hint}</span>}
    <textarea name={name} required={required} rows={rows}>
      {value ?? ''}
    </textarea>
  </label>
);
