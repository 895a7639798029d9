// Docker HEALTHCHECK: healthy when both services answer GET /healthz within the timeout.
const TIMEOUT_MS = 4_000;
const ports = [process.env.CORE_PORT || '8080', process.env.INGEST_PORT || '8081'];

const checks = ports.map(async (port) => {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`port ${port}: HTTP ${res.status}`);
});
Promise.all(checks).then(
  () => process.exit(0),
  (err) => {
    console.error(`unhealthy: ${err.message}`);
    process.exit(1);
  },
);
