import type { CoreApp } from '../context.js';

/** A response of the console to a test browser: status, headers, the text, and the page's CSRF token. */
export interface ConsolePage {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  /** Set-Cookie lines of this response. */
  setCookies: string[];
}

/**
 * A minimal browser for in-process tests of the console: keeps cookies (name=value, as a browser sends
 * them back), remembers the last page's CSRF token, and sends same-origin headers unless told otherwise.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(
    private readonly app: CoreApp,
    readonly origin = 'http://localhost',
    private readonly ip = '127.0.0.1',
  ) {}

  private async send(method: string, path: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<ConsolePage> {
    const headers: Record<string, string> = { host: new URL(this.origin).host, 'user-agent': 'test-browser', ...init.headers };
    // A header given as '' is left out (to send a request without, say, Sec-Fetch-Site).
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const env = { incoming: { socket: { remoteAddress: this.ip } } };
    const res = await this.app.request(`${this.origin}${path}`, { method, headers, body: init.body }, env);
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value);
    }
    const text = await res.text();
    const token = /<meta name="csrf-token" content="([^"]+)"/.exec(text)?.[1];
    if (token) this.csrf = token;
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location'), setCookies };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<ConsolePage> {
    return this.send('GET', path, { headers: { 'sec-fetch-site': 'same-origin', ...headers } });
  }

  /** POSTs a form; `_csrf` is the last page's token unless `fields` says otherwise. */
  post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<ConsolePage> {
    const body = new URLSearchParams();
    if (!('_csrf' in fields)) body.append('_csrf', this.csrf);
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
    return this.send('POST', path, {
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, 'sec-fetch-site': 'same-origin', ...headers },
    });
  }

  /** A call to the console's JSON proxy, as its scripts make it (CSRF header from the last page). */
  api(method: string, path: string, opts: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<ConsolePage> {
    return this.send(method, `/console/api${path}`, { body: opts.body, headers: { 'x-csrf-token': this.csrf, 'sec-fetch-site': 'same-origin', ...opts.headers } });
  }

  /** Signs up through the console's form; returns the email. */
  async signUp(email = `console-${Math.random().toString(36).slice(2)}@example.com`, password = 'correct horse battery'): Promise<string> {
    await this.get('/console/sign-up');
    const res = await this.post('/console/sign-up', { email, name: 'Console Tester', password });
    if (res.status !== 303) throw new Error(`sign-up failed: ${res.status} ${res.text.slice(0, 500)}`);
    await this.get('/console/apps');
    return email;
  }
}

/** Text of the HTML with tags removed and whitespace collapsed, for "the page says ..." checks. */
export function pageText(html: string): string {
  return html.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/\s+/g, ' ').trim();
}
