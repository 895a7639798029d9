// The load generator, in its own process (forked by the bench): runs autocannon against the service with
// fresh bodies per request and sends the figures back over IPC.
import autocannon from 'autocannon';
import { batchBody } from './events.mjs';

process.once('message', async ({ url, batch, connections, durationSec }) => {
  const result = await autocannon({
    url,
    connections,
    duration: durationSec,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: batchBody(batch) }) }],
  });
  process.send({
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    durationSec: result.duration,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  });
  process.exit(0);
});
