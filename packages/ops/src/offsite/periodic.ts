import type { SftpOffsite } from './config.js';
import { syncToOffsite } from './packages.js';

const MiB = 1024 * 1024;

/**
 * Runs `ops offsite-sync`'s pass every `o.syncIntervalMs` (the first right away, which also proves the host
 * key early) until stopped: what the launcher does while the services run. Logs what it copied, and a
 * failure once until it recovers, so a NAS that is down for a day does not fill the log.
 */
export function startOffsiteSync(o: SftpOffsite, dataDir: string, log: (line: string) => void): { stop: () => void } {
  const abort = new AbortController();
  const invalid = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let lastError: string | undefined;

  const pass = async () => {
    try {
      const res = await syncToOffsite(o, dataDir, { signal: abort.signal, skip: invalid });
      for (const path of res.invalid) {
        invalid.add(path);
        log(`offsite: not copying ${path}: its SHA-256 does not match its name`);
      }
      if (res.uploaded.length) log(`offsite: copied ${res.uploaded.length} package files (${(res.bytes / MiB).toFixed(1)} MiB) to ${o.label}`);
      if (res.secret === 'uploaded') log(`offsite: copied device-hash.secret to ${o.label}`);
      if (lastError) log(`offsite: copying to ${o.label} works again`);
      lastError = undefined;
    } catch (err) {
      if (abort.signal.aborted) return;
      const message = (err as Error).message;
      if (message !== lastError) log(`offsite: copy failed (retried every ${o.syncIntervalMs / 1000} s): ${message}`);
      lastError = message;
    }
    if (!abort.signal.aborted) timer = setTimeout(pass, o.syncIntervalMs).unref();
  };
  void pass();
  return {
    stop: () => {
      abort.abort();
      clearTimeout(timer);
    },
  };
}
