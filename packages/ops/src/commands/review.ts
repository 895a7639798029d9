import { decide, reviewQueue, setSuspended, type Actor, type ReviewDecision } from '@mosis/core-api';
import { databasePath, openDatabase } from '@mosis/shared';
import { existsSync } from 'node:fs';
import type { CommandContext } from '../command.js';

export const usage = `review list [--status review|approved|rejected|published|draft]
    versions waiting for a decision (default: in review), oldest first
review approve|publish APP CODE
review reject APP CODE --notes TEXT
review suspend APP [--notes REASON] | review reinstate APP
    APP is the package_id (or app id), CODE the version_code; each decision lands in the developer's audit log`;

const STATUSES = ['draft', 'review', 'approved', 'rejected', 'published'] as const;
const DECISIONS: readonly string[] = ['approve', 'reject', 'publish'] satisfies ReviewDecision[];
/** Shown as the user agent of audit rows written from the command line. */
const OPS_ACTOR: Actor = { via: 'ops', ip: null, userAgent: 'mosis-ops' };

/** `ops review`: the operator's side of version review on portal.db (the same rules as /v1/admin). */
export async function run(ctx: CommandContext): Promise<number> {
  const [action, app, codeText] = ctx.positionals;
  const bad = (why: string) => {
    ctx.err(`ops review: ${why}\nusage: ops ${usage}`);
    return 2;
  };
  if (!action) return bad('missing action');
  const path = databasePath(ctx.config.DATA_DIR, 'portal');
  if (!existsSync(path)) {
    ctx.err(`ops review: ${path} does not exist (start the core API or run: ops migrate up --db portal)`);
    return 1;
  }
  const notes = ctx.values.notes as string | undefined;

  if (action === 'list') {
    const status = (ctx.values.status as string | undefined) ?? 'review';
    if (!(STATUSES as readonly string[]).includes(status)) return bad(`unknown status ${status}`);
    const db = openDatabase(path, { litestream: ctx.config.LITESTREAM });
    try {
      const rows = reviewQueue(db, status as (typeof STATUSES)[number]);
      if (!rows.length) ctx.out(`no versions in ${status}`);
      for (const v of rows) ctx.out(`${v.package_id}  ${v.version_code}  ${v.version_name}  ${v.status}  created ${v.created_at}  (${v.app_name})`);
      return 0;
    } finally {
      db.close();
    }
  }

  if (!app) return bad('missing APP');
  const db = openDatabase(path, { litestream: ctx.config.LITESTREAM });
  try {
    if (action === 'suspend' || action === 'reinstate') {
      const updated = setSuspended(db, app, action === 'suspend', OPS_ACTOR, notes);
      ctx.out(`${updated.package_id}: ${updated.status}`);
      return 0;
    }
    if (!DECISIONS.includes(action)) return bad(`unknown action ${action}`);
    if (!codeText || !/^\d{1,10}$/.test(codeText)) return bad('CODE must be a version_code (a positive integer)');
    const version = decide(db, app, Number(codeText), action as ReviewDecision, OPS_ACTOR, notes);
    ctx.out(`${app} version ${version.version_code}: ${version.status}${version.published_at && action === 'publish' ? ` at ${version.published_at}` : ''}`);
    return 0;
  } finally {
    db.close();
  }
}
