// Driving the service with the load generator (lib/load-worker.mjs) in its own process, so that the
// generator's CPU is not counted against the service's event loop.
import { fork } from 'node:child_process';

/** Runs the load generator against `url`'s POST /v1/events for `seconds` and returns its figures. */
export function load(url, { batch, connections, seconds }) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./load-worker.mjs', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited ${code}`)));
    child.send({ url: `${url}/v1/events`, batch, connections, durationSec: seconds });
  });
}
