import { ApiError, bodyTimedOut } from '@mosis/shared';
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';

/** Gzip framing beyond the deflated data: a compressed body larger than its limit by more cannot fit once inflated. */
const GZIP_FRAMING_BYTES = 1024;

/**
 * Called with the size of each piece of body before it is kept: every raw chunk as it arrives and, for gzip,
 * every chunk it inflates to. Throws to refuse the body (the memory budget is exhausted).
 */
export type Reserve = (bytes: number) => void;

/** A request as the body reader sees it, from Hono's context or straight from node:http. */
export interface BodySource {
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The Node request stream, when there is one not yet read (read directly: cheaper than the web stream). */
  node?: IncomingMessage | undefined;
  /** Otherwise the web body (app.request() in tests, other adapters). */
  web?: () => ReadableStream<Uint8Array> | null;
}

/** The body of a request Hono serves: the Node stream behind it under @hono/node-server, else the web body. */
export function contextBody(c: Context): BodySource {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return { header: (name) => c.req.header(name), node: incoming && typeof incoming.on === 'function' ? incoming : undefined, web: () => c.req.raw.body };
}

/**
 * The body of a request served straight from node:http. A header sent twice reads as its values joined by
 * ", ", as the web Headers Hono reads join them (Node's `req.headers` keeps only the first of some).
 */
export function nodeBody(req: IncomingMessage): BodySource {
  return {
    header: (name) => {
      const raw = req.rawHeaders;
      let value: string | undefined;
      for (let i = 0; i < raw.length; i += 2) {
        const key = raw[i]!;
        if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
      }
      return value;
    },
    node: req,
  };
}

/**
 * Reads a JSON request body (and its decompressed size) with its size limit enforced while reading: a body
 * (or, for gzip, its decompressed form) over `limitBytes` is refused with 413 without being held in memory
 * whole. Gzip is inflated as a stream as the body arrives, each output chunk counted and reserved before it
 * is kept, so a gzip bomb stops at the limit instead of filling memory.
 */
export async function readJsonBody(req: BodySource, limitBytes: number, reserve: Reserve = () => {}): Promise<{ value: unknown; bytes: number }> {
  const type = req.header('content-type');
  if (!type || !/^application\/json\s*(;|$)/i.test(type.trim())) {
    throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const encoding = (req.header('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') {
    throw new ApiError(400, 'unsupported_content_encoding', 'Content-Encoding must be gzip or identity', {
      content_encoding: encoding.slice(0, 64),
    });
  }
  const declared = Number(req.header('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);

  const sink = new BodySink(limitBytes, encoding === 'gzip', reserve);
  const incoming = req.node;
  // Reading the Node stream directly skips the web-stream wrapper: measurably cheaper per request.
  const text = await (incoming && !incoming.readableDidRead ? readNode(incoming, sink) : readWeb(req.web?.() ?? null, sink));
  try {
    return { value: JSON.parse(text.toString('utf8')), bytes: text.length };
  } catch {
    // No parser message in the answer: V8's quotes a piece of the body, which may hold a raw device id.
    throw ApiError.badRequest('body is not valid JSON');
  }
}

function tooLarge(limitBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `body is larger than ${limitBytes} bytes`, { limit_bytes: limitBytes });
}

/**
 * Where the raw body goes, piece by piece: kept as it is, or inflated first. Each piece is counted against
 * the limit and reserved before it is kept; the first failure settles `done` and everything after is ignored.
 */
class BodySink {
  readonly done: Promise<Buffer>;
  /** True once `done` is settled. */
  settled = false;
  private chunks: Buffer[] = [];
  private kept = 0;
  private received = 0;
  private readonly inflater: Gunzip | undefined;
  private resolve!: (b: Buffer) => void;
  private reject!: (e: unknown) => void;

  /** Called once `done` is settled (the source stops feeding). */
  onSettled: () => void = () => {};

  constructor(
    private readonly limitBytes: number,
    gzip: boolean,
    private readonly reserve: Reserve,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (gzip) {
      this.inflater = createGunzip();
      this.inflater.on('data', (chunk: Buffer) => this.keep(chunk));
      this.inflater.on('end', () => this.finish());
      this.inflater.on('error', (err) => this.fail(ApiError.badRequest('body is not valid gzip', { reason: err.message })));
    }
  }

  /** One raw piece; false when the source should wait for `drained()` before the next. */
  write(chunk: Buffer): boolean {
    if (this.settled) return true;
    if (!this.inflater) {
      this.keep(chunk);
      return true;
    }
    this.received += chunk.length;
    if (this.received > this.limitBytes + GZIP_FRAMING_BYTES) {
      this.fail(tooLarge(this.limitBytes));
      return true;
    }
    // The compressed piece is held until inflated: reserved too.
    if (!this.take(chunk.length)) return true;
    return this.inflater.write(chunk);
  }

  /** Resolves when the inflater has room again (or the body is settled). */
  drained(): Promise<void> {
    if (!this.inflater || this.settled || !this.inflater.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        this.inflater!.off('drain', go);
        this.inflater!.off('close', go);
        resolve();
      };
      this.inflater!.on('drain', go);
      this.inflater!.on('close', go);
    });
  }

  /** The raw body is complete. */
  end(): void {
    if (this.settled) return;
    if (this.inflater) this.inflater.end();
    else this.finish();
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks = [];
    // A gzip bomb stops inflating here.
    this.inflater?.destroy();
    this.reject(err);
    this.onSettled();
  }

  private keep(chunk: Buffer): void {
    if (this.settled) return;
    this.kept += chunk.length;
    if (this.kept > this.limitBytes) return this.fail(tooLarge(this.limitBytes));
    if (this.take(chunk.length)) this.chunks.push(chunk);
  }

  private take(bytes: number): boolean {
    try {
      this.reserve(bytes);
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const chunks = this.chunks;
    this.chunks = [];
    this.resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.kept));
    this.onSettled();
  }
}

/** Feeds the Node request stream into `sink`; on a refusal it stops reading (the rest is discarded after the answer). */
function readNode(req: IncomingMessage, sink: BodySink): Promise<Buffer> {
  const onData = (chunk: Buffer) => {
    if (sink.write(chunk)) return;
    req.pause();
    void sink.drained().then(() => {
      if (!sink.settled) req.resume();
    });
  };
  const onEnd = () => sink.end();
  const onError = (err: Error) => sink.fail(unreadable(req, err));
  const onAborted = () => sink.fail(unreadable(req, new Error('client aborted')));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('aborted', onAborted);
  sink.onSettled = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('aborted', onAborted);
    if (!req.readableEnded) req.pause();
  };
  return sink.done;
}

/** The web-stream body (app.request() in tests, other adapters). */
async function readWeb(body: ReadableStream<Uint8Array> | null, sink: BodySink): Promise<Buffer> {
  if (!body) {
    sink.end();
    return sink.done;
  }
  // `done` may fail (gzip) while a read is awaited, before anyone awaits it: not an unhandled rejection.
  sink.done.catch(() => {});
  const reader = body.getReader();
  try {
    while (!sink.settled) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!sink.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) await sink.drained();
    }
  } catch (err) {
    sink.fail(ApiError.badRequest('request body could not be read', { reason: (err as Error).message }));
  }
  if (sink.settled) await reader.cancel().catch(() => {});
  else sink.end();
  return sink.done;
}

/** Why a body could not be read: the server gave up on it (408), or the client went away. */
function unreadable(req: IncomingMessage, err: Error): ApiError {
  if (bodyTimedOut(req)) return new ApiError(408, 'request_timeout', 'the request body was not received in time');
  return ApiError.badRequest('request body could not be read', { reason: err.message });
}
