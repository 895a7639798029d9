import { freePort, spawnNode, tempDir, waitForHttp, type ChildHandle } from '@mosis/shared';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

// The callbacks given to page.evaluate run in the browser: this Node project has no DOM types, so the page's
// globals are declared loosely here.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const MutationObserver: any;
declare const getComputedStyle: any;
declare const requestAnimationFrame: any;

/** Test helpers for the console's browser tests: Chromium, the two services on one DATA_DIR, screenshots. */

/** Where Chromium usually is: CHROMIUM_PATH first, then Debian's and others' paths. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/** The Chromium to drive, or undefined when there is none on this machine. */
export function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? given : undefined;
  return CHROMIUM_PATHS.find((p) => existsSync(p));
}

/** Flags for a headless Chromium in a container without a network: no sandbox (root), no GPU, no calls home. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium; playwright gives it a fresh temporary user-data dir, removed at close. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

const CORE_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const INGEST_MAIN = fileURLToPath(new URL('../../../ingest/dist/main.js', import.meta.url));

/** The core API and ingest, each its own process (the built dist/), on one temp DATA_DIR. */
export interface Services {
  core: string;
  ingest: string;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts the built core API (with `adminToken`) and then ingest (rolling up every second, so the daily
 * aggregates follow within a second or two) on a fresh DATA_DIR, and waits until both are ready.
 */
export async function startServices(adminToken: string): Promise<Services> {
  for (const main of [CORE_MAIN, INGEST_MAIN]) if (!existsSync(main)) throw new Error(`${main} is missing: run npx tsc -b first`);
  const dir = tempDir('mosis-console-');
  const [corePort, ingestPort] = [await freePort(), await freePort()];
  const common = { DATA_DIR: dir.path, HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const procs: ChildHandle[] = [];
  const stop = async () => {
    for (const p of procs.reverse()) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await p.exited;
      }
    }
    dir.cleanup();
  };
  try {
    procs.push(spawnNode(CORE_MAIN, [], { ...common, CORE_PORT: String(corePort), ADMIN_TOKEN: adminToken }));
    const core = `http://127.0.0.1:${corePort}`;
    await waitForHttp(`${core}/readyz`, 30_000);
    procs.push(spawnNode(INGEST_MAIN, [], { ...common, INGEST_PORT: String(ingestPort), ROLLUP_SCHEDULE: '* * * * * *', APP_CACHE_REFRESH_MS: '100' }));
    const ingest = `http://127.0.0.1:${ingestPort}`;
    await waitForHttp(`${ingest}/readyz`, 30_000);
    return { core, ingest, dataDir: dir.path, stop };
  } catch (err) {
    const output = procs.map((p) => p.output()).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
  }
}

/** Folder of the screenshots a person can look at: .console-screenshots/ at the repository root. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../../.console-screenshots/', import.meta.url));

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 812 };

/**
 * Screenshots `page` at desktop and at phone width (full page) into SCREENSHOT_DIR as `<name>-desktop.png`
 * and `<name>-phone.png`, and checks that at phone width nothing is wider than the screen.
 */
export async function screenshots(page: Page, name: string): Promise<{ overflowPx: number }> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // Charts follow their box's width (ResizeObserver): give them a frame to redraw.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const overflowPx = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  return { overflowPx };
}
