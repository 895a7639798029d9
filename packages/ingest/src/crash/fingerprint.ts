import { createHash } from 'node:crypto';

/**
 * Crash fingerprints: one bug on many devices, builds and OS versions is one crash group.
 *
 * A stack trace is read as a chain of exceptions (the top one, then each `Caused by:`), each with a type (the
 * exception class, a Rust panic's file) and frames. The fingerprint hashes the crash type, every exception's
 * type, the frame where each outer exception was thrown, and the root cause's top frames. The root cause
 * drives grouping because it says what failed, while wrappers around it are mostly framework plumbing whose
 * frames change between OS versions; the outer throw sites still tell one library failure reached from two
 * places in the app apart.
 *
 * A frame is reduced to what is the same for one bug everywhere: function and file base name. Addresses,
 * symbol offsets, line and column numbers, build ids, install paths, hosts, query strings, bundle hashes and
 * compiler counters are dropped (each rule below says why). Line numbers go too: an unrelated edit above a
 * function, or another OS version of a framework file, moves them without changing the bug. The one place an
 * offset stays is a frame without a symbol, where it is the only name the code has.
 */

/** Frames of the root cause that identify a crash: deeper frames differ by call path, not by bug. */
export const FINGERPRINT_FRAMES = 5;
/** Only the head of a stack trace is read (256 KiB may arrive); the frames that count are at its top. */
export const SCAN_MAX_CHARS = 64 * 1024;
/** ...and at most this many of its lines. */
export const SCAN_MAX_LINES = 1_000;
/** Longer lines are cut before any pattern runs on them, which bounds the work per line. */
export const LINE_MAX_CHARS = 1_024;
/** Hex characters of a fingerprint (128 bits: collisions between different bugs are not a concern). */
const FINGERPRINT_HEX_CHARS = 32;

/** One exception of a chain, outermost first. */
export interface StackException {
  /** `java.lang.IllegalStateException`, `TypeError`, `panic (camera.rs)`; null when the trace has no header. */
  type: string | null;
  /** Normalized frames, top first, at most FINGERPRINT_FRAMES. */
  frames: string[];
}

/**
 * A crash group's fingerprint, from the crash type and the stack trace (see the module comment). Without
 * frames, the message with its numbers removed stands in for them.
 */
export function crashFingerprint(crashType: string, stackTrace: string | null, message: string | null): string {
  const chain = stackTrace ? parseStack(stackTrace) : [];
  const basis = [crashType, ...describeChain(chain)];
  if (!chain.some((e) => e.frames.length)) basis.push(`message ${normalizeMessage(message ?? '')}`);
  return createHash('sha256').update(basis.join('\n')).digest('hex').slice(0, FINGERPRINT_HEX_CHARS);
}

/** What of a chain goes into the fingerprint: every type, each outer throw site, the root cause's frames. */
export function describeChain(chain: StackException[]): string[] {
  // The root cause is the innermost exception that shows frames ("Caused by: X" then "... 12 more" shows none:
  // its frames are its wrapper's).
  let root = chain.length - 1;
  while (root > 0 && !chain[root]!.frames.length) root--;
  const out: string[] = [];
  chain.forEach((e, i) => {
    if (e.type) out.push(`exception ${e.type}`);
    const frames = i === root ? e.frames : i < root ? e.frames.slice(0, 1) : [];
    for (const f of frames) out.push(`at ${f}`);
  });
  return out;
}

/** Reads the head of a stack trace into its chain of exceptions (module comment). */
export function parseStack(stackTrace: string): StackException[] {
  const lines = headLines(stackTrace);
  const backtrace = lines.findIndex(isTombstoneBacktrace);
  return backtrace >= 0 ? [{ type: null, frames: tombstoneFrames(lines, backtrace + 1) }] : parseLines(lines);
}

/** The first SCAN_MAX_LINES lines of the first SCAN_MAX_CHARS, each cut to LINE_MAX_CHARS: all that is read. */
function headLines(stackTrace: string): string[] {
  const head = stackTrace.length > SCAN_MAX_CHARS ? stackTrace.slice(0, SCAN_MAX_CHARS) : stackTrace;
  const lines: string[] = [];
  for (let start = 0; start < head.length && lines.length < SCAN_MAX_LINES; ) {
    let end = head.indexOf('\n', start);
    if (end < 0) end = head.length;
    lines.push(head.slice(start, Math.min(end, start + LINE_MAX_CHARS)));
    start = end + 1;
  }
  return lines;
}

/** An Android tombstone's "backtrace:" banner (also behind a logcat prefix); Rust's "stack backtrace:" is not. */
function isTombstoneBacktrace(line: string): boolean {
  const t = line.trimEnd();
  return t.endsWith('backtrace:') && !t.endsWith('stack backtrace:');
}

/**
 * A tombstone's crashing thread: the "#NN pc" lines after its first "backtrace:". Its header (registers, fault
 * address, abort message) and the sections and threads after it are per device, not per bug.
 */
function tombstoneFrames(lines: string[], from: number): string[] {
  const frames: string[] = [];
  for (let i = from; i < lines.length && frames.length < FINGERPRINT_FRAMES; i++) {
    const frame = nativeFrame(collapse(lines[i]!));
    if (frame !== null) pushFrame(frames, frame);
    else if (frames.length) break; // the next section
  }
  return frames;
}

/** Lines that are neither headers nor frames. */
const NOISE = /^(?:\.\.\. \d+ (?:more|common frames omitted)|\*\*\*|---|stack backtrace:|stack trace:|note: )/i;
/** Rust's panic runtime above the panicking frame: which of these appear depends on the toolchain version. */
const RUST_PANIC_MACHINERY =
  /^(?:std::panicking::|core::panicking::|std::panic::|std::backtrace_rs::|std::backtrace::|std::sys_common::backtrace::|std::sys::backtrace::|rust_begin_unwind$|core::option::(?:unwrap|expect)_failed$|core::result::unwrap_failed$)/;
/** Below this frame is Rust's start-up code, which the default (short) backtrace leaves out: stop there. */
const RUST_SHORT_BACKTRACE_END = /__rust_begin_short_backtrace$/;

function parseLines(lines: string[]): StackException[] {
  const chain: StackException[] = [{ type: null, frames: [] }];
  let first = true;
  let rust = false;
  let rustEnded = false;
  let suppressedIndent = -1;
  for (const raw of lines) {
    const t = collapse(raw);
    if (!t) continue;
    const indent = raw.length - raw.trimStart().length;
    // A "Suppressed:" exception failed while cleaning up after the crash: its block (deeper-indented, with its
    // own causes) is skipped up to the next cause of the main chain.
    if (suppressedIndent >= 0) {
      if (!t.startsWith('Caused by:') || (indent >= suppressedIndent && suppressedIndent > 0)) continue;
      suppressedIndent = -1;
    }
    if (t.startsWith('Suppressed:')) {
      suppressedIndent = indent;
      continue;
    }
    if (t.startsWith('Caused by:')) {
      chain.push({ type: exceptionType(t.slice('Caused by:'.length).trim()) ?? '?', frames: [] });
      continue;
    }
    const current = chain[chain.length - 1]!;
    if (rustEnded || current.frames.length >= FINGERPRINT_FRAMES) continue; // only a "Caused by:" matters now
    if (NOISE.test(t)) {
      if (t.startsWith('stack backtrace:')) rust = true;
      continue;
    }
    if (first) {
      first = false;
      const panic = rustPanic(t);
      if (panic) {
        rust = true;
        current.type = panic;
        continue;
      }
      const type = exceptionType(t);
      if (type) {
        current.type = type;
        continue;
      }
    }
    // Rust prints each frame's location on the next line ("at /rustc/<hash>/library/...:616:12"): the symbol
    // already names the function, and toolchain paths differ by version.
    if (rust && t.startsWith('at ')) continue;
    const rustSymbol = rustFrame(t);
    if (rustSymbol !== null) {
      rust = true;
      if (RUST_SHORT_BACKTRACE_END.test(rustSymbol)) rustEnded = true;
      else if (!RUST_PANIC_MACHINERY.test(rustSymbol)) pushFrame(current.frames, rustSymbol);
      continue;
    }
    // After a panic only numbered frames are frames: its message (several lines) may look like anything.
    if (rust) continue;
    const frame = normalizeFrame(t);
    if (frame !== null) pushFrame(current.frames, frame);
  }
  return chain;
}

/** Consecutive identical frames count once: recursion depth and overloads calling each other vary by device. */
function pushFrame(frames: string[], frame: string): void {
  if (frames[frames.length - 1] !== frame) frames.push(frame);
}

/** Trimmed, with runs of whitespace as one space (so no pattern below can backtrack over a run of blanks). */
function collapse(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

/**
 * The exception class of a header line: `java.lang.IllegalStateException: message with ids 1234`,
 * `Exception in thread "main" java.lang.X: ...`, `Uncaught TypeError: ...`. The message carries ids and values.
 */
const EXCEPTION_HEADER =
  /^(?:Exception in thread "[^"]*" |Uncaught (?:\(in promise\) )?)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?:: .*|:)?$/;

function exceptionType(t: string): string | null {
  return EXCEPTION_HEADER.exec(t)?.[1] ?? null;
}

/**
 * A Rust panic header, `thread 'main' panicked at src/main.rs:10:5:` (Rust >= 1.73) or `thread 'main' panicked at
 * 'message', src/main.rs:10:5` (older): its type is the file that panicked. Thread names and messages vary.
 */
function rustPanic(t: string): string | null {
  if (!t.startsWith('thread ')) return null;
  const at = t.indexOf(' panicked at ');
  if (at < 0) return null;
  let location = t.slice(at + ' panicked at '.length).replace(/:$/, '');
  const afterMessage = location.lastIndexOf("', ");
  if (afterMessage >= 0) location = location.slice(afterMessage + 3);
  return `panic (${baseName(dropLineColumn(location))})`;
}

/** A numbered Rust frame, `  4: myapp::camera::capture` or (full) `  4:  0x55d1c2a3b4c5 - myapp::...::h1a2b...`. */
function rustFrame(t: string): string | null {
  const m = /^\d+: (?:0x[0-9a-f]+ - )?(.+)$/i.exec(t);
  return m ? rustSymbol(m[1]!) : null;
}

/** Drops a Rust symbol's hash (`::h1a2b3c4d5e6f7a8b`, mangled `17h1a2b...E`): it changes with every build. */
function rustSymbol(symbol: string): string {
  return symbol.replace(/::h[0-9a-f]{16}$/, '').replace(/17h[0-9a-f]{16}E$/, 'E');
}

/** One stack frame in any of the known formats, normalized; null when the line is not a frame. */
export function normalizeFrame(line: string): string | null {
  const t = collapse(line.slice(0, LINE_MAX_CHARS));
  if (!t) return null;
  return (
    nativeFrame(t) ??
    atFrame(t) ??
    rustFrame(t) ??
    appleFrame(t) ??
    atSignFrame(t) ??
    addressFrame(t) ??
    otherFrame(t)
  );
}

/**
 * Android native: `#00 pc 000000000004f1c8  /apex/.../libc.so (abort+164) (BuildId: ...)`, also behind a logcat
 * prefix. Kept: the library's file name and the symbol without its offset. The pc is relative to the library,
 * so it is kept only when there is no symbol (a stripped library: the pc is then the only name of the code).
 */
function nativeFrame(t: string): string | null {
  const m = /(?:^| )#\d+ pc (?:0x)?([0-9a-f]+)(?: (.*))?$/i.exec(t);
  if (!m) return null;
  const rest = m[2] ?? '';
  const open = rest.indexOf(' (');
  const module = nativeModule(open < 0 ? rest : rest.slice(0, open));
  let symbol: string | null = null;
  for (const group of open < 0 ? [] : parenGroups(rest.slice(open))) {
    // "(offset 0x7d4000)" is where the library lies inside the APK, "(BuildId: ...)" changes with every build.
    if (!/^(?:offset 0x|BuildId:|deleted$)/.test(group)) symbol = group;
  }
  if (symbol !== null) {
    const name = rustSymbol(symbol.replace(/\+(?:0x[0-9a-f]+|\d+)$/i, ''));
    return module ? `${module} ${name}` : name;
  }
  return module ? `${module} pc ${m[1]!.replace(/^0+(?=.)/, '')}` : '?';
}

/**
 * The file name of a native frame's mapping. Install paths hold random parts
 * (`/data/app/~~<random>==/com.example.camera-<random>==/lib/arm64/`), ABI and OS-version directories
 * (`lib/arm`, `/system/lib64` vs `/apex/...`); a library inside the APK is named after `!`. Left out, the symbol
 * naming the code: mappings that are not files (JIT code caches, anonymous memory), whose names differ by Android
 * version; and managed code (`base.apk`, `base.odex`, `.vdex`, `.oat`), which one device runs interpreted, another
 * JIT-compiled, a third compiled ahead of time.
 */
function nativeModule(path: string): string | null {
  const bang = path.lastIndexOf('!');
  const file = bang >= 0 ? path.slice(bang + 1) : path;
  if ((bang < 0 && !file.startsWith('/')) || file.includes(':') || file.startsWith('/dev/')) return null;
  if (bang < 0 && /\.(?:apk|odex|vdex|oat|dex|art|jar)$/.test(file)) return null;
  return baseName(file) || null;
}

/** The top-level parenthesized groups of `" (a(b)+1) (c)"`: `["a(b)+1", "c"]` (C++ symbols nest parentheses). */
function parenGroups(s: string): string[] {
  const groups: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') {
      if (depth++ === 0) start = i + 1;
    } else if (s[i] === ')' && depth > 0 && --depth === 0) groups.push(s.slice(start, i));
  }
  return groups;
}

/** Frames starting with "at ": Java/Kotlin `at com.x.Foo.bar(Foo.kt:42)` or V8 `at fn (url:10:5)`, `at url:10:5`. */
function atFrame(t: string): string | null {
  if (!t.startsWith('at ')) return null;
  const body = t.slice(3);
  if (body.endsWith(')')) {
    const open = body.indexOf('(');
    const name = body.slice(0, open);
    if (open > 0 && !name.includes(' ')) return `${javaName(name)} (${body.slice(open + 1, -1).replace(/:\d+$/, '')})`;
    const space = body.indexOf(' (');
    if (space > 0) return jsFrame(body.slice(0, space), body.slice(space + 2, -1));
  }
  return body.includes(' ') ? null : jsFrame('', body);
}

/** A JVM frame's method name without what the compiler or the runtime numbers. */
function javaName(name: string): string {
  return (
    name
      // JVM lambda classes, `Foo$$Lambda$12/0x000000080012c440` (JDK 21: `Foo$$Lambda/0x...`, JDK 8 `/1831932724`):
      // counter and address are assigned at run time.
      .replace(/\$\$Lambda(?:\$\d+)?(?:\/(?:0x[0-9a-f]+|\d+))?/gi, () => '$$Lambda')
      // Module and class loader prefixes (`java.base@17.0.9/`, `app//`): the JDK version is per device.
      .replace(/^.*\//, '')
      // Compiler counters, renumbered by any unrelated lambda or accessor added earlier in the class (or in
      // another Android version's framework): D8's `$$ExternalSyntheticLambda0`, R8's `$r8$lambda$<hash>`,
      // javac's `lambda$onStart$3`, Kotlin's `onStart$lambda$3` / `onStart$lambda-3`, `access$3600`, `-wrap11`.
      .replace(/\$\$ExternalSynthetic([A-Za-z]+?)\d+/g, (_, kind: string) => `$$ExternalSynthetic${kind}`)
      .replace(/\$r8\$lambda\$[\w-]+/g, () => '$r8$lambda$')
      .replace(/\$lambda[-$]\d+/g, () => '$lambda')
      .replace(/\blambda\$(\w*)\$\d+/g, (_, method: string) => `lambda$${method}$`)
      .replace(/(access\$|-wrap)\d+\b/g, '$1')
      // Dynamic proxy classes (`$Proxy12`) are numbered in the order the process created them.
      .replace(/\$Proxy\d+/g, () => '$Proxy')
  );
}

/**
 * A JavaScript frame as `name (file)`, the same for V8, Firefox and Safari. The file is the script's base name
 * without line, column, query string, hash and bundle hash: hosts (CDNs, `file:///data/user/10/...` on the
 * device), cache busters and content hashes differ by deployment and release, the code does not.
 */
function jsFrame(name: string, location: string): string {
  return `${name || '<anonymous>'} (${jsFile(location)})`;
}

function jsFile(location: string): string {
  if (location.startsWith('eval at ')) return 'eval';
  let file = dropLineColumn(location);
  const query = file.search(/[?#]/);
  if (query >= 0) file = file.slice(0, query);
  return stripBundleHash(baseName(file));
}

/**
 * Removes a content hash from a bundle's file name: webpack/rollup `main.3f9a1c.js`, `2.a1b2c3d4.chunk.js` (hex
 * of 6 or more with a digit, between dots) and vite/esbuild `gallery-DiwrgTda.js` (8 characters of base64url
 * after the last `-` of the name part, not all lower case, so `chunk-vendors.js` stays).
 */
function stripBundleHash(file: string): string {
  const parts = file.split('.');
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (i > 0 && /^[0-9a-f]{6,}$/i.test(part) && /\d/.test(part)) parts[i] = '';
    else if (part.length > 9 && part[part.length - 9] === '-' && isShortHash(part.slice(-8))) parts[i] = part.slice(0, -9);
  }
  return parts.filter((p) => p !== '').join('.');
}

function isShortHash(s: string): boolean {
  return /^[\w-]{8}$/.test(s) && /[A-Z0-9_-]/.test(s);
}

/** Firefox and Safari: `fn@url:10:5`, `@url:10:5` and (Safari) a bare `url:10:5` for anonymous functions. */
function atSignFrame(t: string): string | null {
  const at = t.indexOf('@');
  if (at >= 0) {
    const location = t.slice(at + 1);
    if (location === '[native code]' || (!location.includes(' ') && /:\d+$/.test(location))) return jsFrame(t.slice(0, at), location);
    return null;
  }
  return /^[a-z][\w+.-]*:\/\/\S+:\d+$/i.test(t) ? jsFrame('', t) : null;
}

/**
 * Apple crash reports: `3   MyApp   0x0000000104a3c123 symbol + 120`. The absolute address moves with ASLR on
 * every launch. A symbol's offset is dropped like a line number; without a symbol (`MyApp + 12345`, or
 * `0x104a00000 + 12345`: the image's load address plus the same offset) the offset into the image is kept.
 */
function appleFrame(t: string): string | null {
  if (!/^\d+ /.test(t)) return null;
  const tokens = t.split(' ');
  let address = 2;
  while (address < tokens.length && !/^0x[0-9a-f]+$/i.test(tokens[address]!)) address++;
  if (address >= tokens.length - 1) return null;
  const module = tokens.slice(1, address).join(' ');
  let rest = tokens.slice(address + 1).join(' ');
  let source = '';
  const annotation = / \(([^()]*:\d+)\)$/.exec(rest); // "(Camera.swift:42)"
  if (annotation) {
    source = ` (${dropLineColumn(annotation[1]!)})`;
    rest = rest.slice(0, annotation.index);
  }
  const plus = / \+ (0x[0-9a-f]+|\d+)$/i.exec(rest);
  const symbol = plus ? rest.slice(0, plus.index) : rest;
  if (plus && (symbol === module || /^0x[0-9a-f]+$/i.test(symbol))) return `${module} + ${plus[1]!.toLowerCase()}`;
  return `${module} ${symbol}${source}`;
}

/**
 * Other `... + offset` frames (minidump-style `0  libfoo.so + 0x1a2b`, `libfoo.so!Foo::run() + 0x80`, bare
 * `0x7f3a2b1c + 1234`). Absolute addresses in front move with ASLR. After a library (an image without a symbol)
 * the offset is the code's only name and stays; after a symbol it is dropped like a line number.
 */
function addressFrame(t: string): string | null {
  const plus = / \+ (0x[0-9a-f]+|\d+)$/i.exec(t);
  if (!plus) return null;
  const offset = plus[1]!.toLowerCase();
  const base = t
    .slice(0, plus.index)
    .replace(/^#?\d+ /, '')
    .replace(/^(?:0x[0-9a-f]+ )+/i, '');
  if (/^(?:0x[0-9a-f]+)?$/i.test(base)) return `<addr> + ${offset}`;
  const bang = base.indexOf('!');
  if (bang >= 0) return `${baseName(base.slice(0, bang))}!${base.slice(bang + 1)}`;
  if (/\.(?:so(?:\.\d+)*|dylib|dll|exe)$/i.test(base)) return `${baseName(base)} + ${offset}`;
  return base;
}

/**
 * Lines of formats not known above that still look like frames, reduced by generic rules: no frame numbers,
 * UUIDs, offsets, addresses, long hex ids or line numbers.
 */
function otherFrame(t: string): string | null {
  const looksLikeFrame =
    /^(?:#\d+ |\d+ \S)/.test(t) || (t.endsWith(')') && t.includes('(')) || /\bpc [0-9a-f]+/i.test(t) || /\.\w+:\d+/.test(t);
  if (!looksLikeFrame) return null;
  return t
    .replace(/^(?:#\d+ |\d+ (?=\S)|at )/, '')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/ ?\+ ?(?:0x)?[0-9a-f]+\b/gi, '')
    .replace(/\b0x[0-9a-f]+\b/gi, '<addr>')
    .replace(/\b[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/:\d+(?::\d+)?(?=\)| |$)/g, '');
}

/** `file:10:5` or `file:10` → `file`. */
function dropLineColumn(location: string): string {
  return location.replace(/(?::\d+){1,2}$/, '');
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** A message standing in for missing frames: without ids, addresses and numbers. */
function normalizeMessage(message: string): string {
  return collapse(message.slice(0, LINE_MAX_CHARS))
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<addr>')
    .replace(/\d+/g, '<n>');
}
