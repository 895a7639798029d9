import type { Context } from 'hono';
import type { CoreEnv } from './context.js';

/** Longest user agent kept in the audit log (the header is client text of any size). */
const MAX_USER_AGENT_CHARS = 512;

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/**
 * The client's address and user agent, for the audit log and the rate limiter. The address is the socket's
 * peer (what @hono/node-server's getConnInfo reads). Behind a reverse proxy set TRUST_PROXY=true: the
 * address is then the last X-Forwarded-For entry, the one the proxy itself appended (earlier entries are
 * whatever the client sent, so they are never trusted).
 */
export function clientInfo(c: Context<CoreEnv>, trustProxy: boolean): ClientInfo {
  let ip: string | null = c.env?.incoming?.socket?.remoteAddress ?? null;
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded?.split(',').map((s) => s.trim()).filter(Boolean).pop();
    if (last) ip = last.slice(0, 64);
  }
  const ua = c.req.header('user-agent');
  return { ip, userAgent: ua ? ua.slice(0, MAX_USER_AGENT_CHARS) : null };
}
