import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources; child-process tests run the built dist/ (npm test builds first).
    // The PostgreSQL test helpers first: '@mosis/ingest' would also match their name.
    alias: [
      { find: '@mosis/ingest/testing-pg', replacement: fileURLToPath(new URL('./packages/ingest/src/store/postgres/testing.ts', import.meta.url)) },
      { find: '@mosis/shared/db', replacement: fileURLToPath(new URL('./packages/shared/src/db.ts', import.meta.url)) },
      { find: '@mosis/shared', replacement: src('shared') },
      { find: '@mosis/ingest', replacement: src('ingest') },
      { find: '@mosis/core-api', replacement: src('core-api') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts'],
    // One PostgreSQL server per run for the telemetry-on-PostgreSQL tests (skipped without one, unless
    // MOSIS_REQUIRE_POSTGRES=1).
    globalSetup: ['packages/ingest/src/store/postgres/test-server.ts'],
    // Under CI a JSON report too, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.vitest-report.json' }]] : ['default'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
