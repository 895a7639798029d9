import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** How often the directories are looked at while waiting for them to go quiet. */
const POLL_INTERVAL_MS = 250;

/** Newest modification time under `dir` (recursively), and whether a `.tmp` file is being written there. */
function latestChange(dir: string): { mtimeMs: number; writing: boolean } {
  let mtimeMs = 0;
  let writing = false;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return { mtimeMs, writing };
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    if (e.name.endsWith('.tmp')) writing = true;
    try {
      mtimeMs = Math.max(mtimeMs, statSync(join(e.parentPath, e.name)).mtimeMs);
    } catch {
      // renamed or removed while we looked: a change, seen on the next poll
    }
  }
  return { mtimeMs, writing };
}

/**
 * Resolves once nothing under `dirs` has changed for `quietMs` and no `.tmp` file is open there, or
 * after `maxMs` at the latest. Returns how long it waited. Used to let Litestream finish shipping the
 * last WAL frames in its own loop before it is asked to shut down.
 */
export async function waitForQuiet(dirs: string[], quietMs: number, maxMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const now = Date.now();
    const seen = dirs.map(latestChange);
    const last = Math.max(start, ...seen.map((s) => s.mtimeMs));
    if ((now - last >= quietMs && !seen.some((s) => s.writing)) || now - start >= maxMs) return now - start;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
