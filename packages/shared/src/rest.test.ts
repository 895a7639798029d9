import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { releaseWhenIdle } from './rest.js';

const IDLE = 30_000;

/** A watch on a clock the test moves; `released` counts what `release` ran. */
function watch() {
  let t = 0;
  let released = 0;
  const idle = releaseWhenIdle({ release: () => void released++, log: createLogger('test', 'silent'), idleMs: IDLE, now: () => t });
  return {
    idle,
    at: (ms: number) => (t = ms),
    released: () => released,
  };
}

describe('releaseWhenIdle', () => {
  it.each([
    { name: 'after start-up, once idle for the whole period', steps: [[IDLE - 1, null, false], [IDLE, null, true], [IDLE * 5, null, false]] },
    { name: 'not while /v1 requests keep coming', steps: [[IDLE - 1, 'http://h:1/v1/events', false], [IDLE * 2 - 2, 'http://h:1/v1/apps', false], [IDLE * 3 - 2, null, true]] },
    { name: 'not again until a request makes it busy', steps: [[IDLE, null, true], [IDLE * 2, 'http://h:1/v1/me', false], [IDLE * 3, null, true]] },
    { name: 'not while requests served directly (a request target, no host) keep coming', steps: [[IDLE - 1, '/v1/events', false], [IDLE * 2 - 2, '/v1/crashes?x=1', false], [IDLE * 3 - 2, '/healthz', true]] },
    { name: 'health checks, scrapes and pages do not count as load', steps: [[IDLE, null, true], [IDLE + 1, 'http://h:1/healthz', false], [IDLE + 2, 'http://h:1/metrics', false], [IDLE + 3, 'http://h:1/console/v1/x', false], [IDLE * 3, null, false]] },
  ] as const)('releases $name', async ({ steps }) => {
    const w = watch();
    try {
      let expected = 0;
      for (const [t, url, releases] of steps) {
        w.at(t);
        if (url) w.idle.touch(url);
        expect(await w.idle.check(), `at ${t} ms${url ? ` after ${url}` : ''}`).toBe(releases);
        if (releases) expected++;
        expect(w.released()).toBe(expected);
      }
      expect(w.idle.releases).toBe(w.released());
    } finally {
      w.idle.stop();
    }
  });
});
