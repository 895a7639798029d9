import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Test helpers shared by every package's tests: temp dirs, free ports, child processes. */

/** A fresh temporary directory; call `cleanup` (e.g. in afterAll) to remove it. */
export function tempDir(prefix = 'mosis-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `url` until it answers `status` or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs = 30_000, status = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not answering ${status} after ${timeoutMs} ms (${last})`);
}

/** A child Node process with its output collected, for tests that need a real process (signals, crashes). */
export interface ChildHandle {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv): ChildHandle {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** What a raw HTTP client got back: the status, the header block and the body, once the connection closed. */
export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * A raw HTTP/1.1 client on a socket, for tests that need to misbehave (stall, trickle, send garbage): it
 * writes `text` once connected and collects what comes back until the server closes the connection.
 */
export function rawHttp(port: number, text: string): { socket: Socket; connected: Promise<void>; response: Promise<RawResponse> } {
  const socket = connect(port, '127.0.0.1');
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => socket.write(text, () => resolve()));
    socket.once('error', reject);
  });
  const response = new Promise<RawResponse>((resolve) => {
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', () => {});
    socket.once('close', () => {
      const split = data.indexOf('\r\n\r\n');
      const head = split < 0 ? data : data.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split < 0 ? '' : data.slice(split + 4) });
    });
  });
  return { socket, connected, response };
}
