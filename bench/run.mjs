#!/usr/bin/env node
// Benchmarks (`pnpm bench`, after `tsc -b`): scripts that print figures, never tests.
//   node bench/run.mjs            every suite
//   node bench/run.mjs ingest     only the named suites
// A suite is a module exporting `run(): Promise<void>`; add one with one line below.

const SUITES = {
  ingest: () => import('./ingest.mjs'),
  rollup: () => import('./rollup.mjs'),
  packages: () => import('./packages.mjs'),
  speed: () => import('./speed.mjs'),
  pg: () => import('./pg.mjs'),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in SUITES));
if (unknown.length) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : Object.keys(SUITES)) {
  console.log(`\n=== bench: ${name} ===`);
  const suite = await SUITES[name]();
  await suite.run();
}
