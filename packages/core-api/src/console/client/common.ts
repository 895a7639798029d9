/** What the console's scripts share: the CSRF token of the page, calls to the console's JSON proxy, errors in words. */

/** An answer of the JSON API (through /console/api). */
export interface Answer {
  ok: boolean;
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** The page's CSRF token (a meta tag the server rendered). */
export function csrf(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

/** Calls /v1`path` through the console's proxy (session cookie + CSRF header); never throws. */
export async function api(path: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const res = await fetch(`/console/api${path}`, {
      ...init,
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'x-csrf-token': csrf(), ...(init.headers as Record<string, string> | undefined) },
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { ok: res.ok, status: res.status, body };
  } catch (err) {
    return { ok: false, status: 0, body: { error: { code: 'network', message: `the server could not be reached (${(err as Error).message})` } } };
  }
}

/** The API's error message, in words. */
export function errorText(a: Answer): string {
  const m = a.body?.error?.message;
  return typeof m === 'string' && m ? m : `the server answered ${a.status}`;
}

/** A 404 for a route this server's API does not have (not a missing resource). */
export function routeMissing(a: Answer): boolean {
  return a.status === 404 && /^no route for /.test(String(a.body?.error?.message ?? ''));
}

/** Creates an element with text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

/** Bytes as people read them. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
