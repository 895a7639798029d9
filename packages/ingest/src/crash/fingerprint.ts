import { createHash } from 'node:crypto';

/** Frames of a stack trace that identify a crash: deeper frames differ by call path, not by bug. */
export const FINGERPRINT_FRAMES = 5;
/** Hex characters of a fingerprint (128 bits: collisions between different bugs are not a concern). */
const FINGERPRINT_HEX_CHARS = 32;

/** Lines that are not frames: the exception line, "Caused by", "... 12 more", native banners. */
const NOT_A_FRAME = /^(\.\.\.\s*\d+\s+more|caused by:|suppressed:|\*\*\*|backtrace:?$|stack trace:?$)/i;
/** A frame in code that is generated or bundled, whose line numbers change with every build. */
const GENERATED_CODE = /\.(m?js|cjs|jsx?)\b|<anonymous>|\beval\b|\$\$Lambda|\$Proxy|lambda\$|\$r8\$|\bGenerated\b|_generated\b|\.g\.\w+\b|<generated>/i;

/**
 * Reduces one stack frame to what is the same on every device: no addresses or offsets, no hex ids, no frame
 * numbers, no line numbers of generated code, no numeric suffixes of generated names.
 */
export function normalizeFrame(line: string): string {
  const generated = GENERATED_CODE.test(line);
  let f = line
    .trim()
    .replace(/^#\d+\s+/, '') // native frame index: "#00 pc ..."
    .replace(/^\d+\s+(?=\S)/, '') // numbered frames: "3   libfoo.so ..."
    .replace(/^at\s+/, '')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\s*\+\s*(0x)?[0-9a-f]+\b/gi, '') // symbol offsets: "(abort+164)", "objc_msgSend + 32"
    .replace(/\b0x[0-9a-f]+\b/gi, '<addr>')
    .replace(/\bpc\s+[0-9a-f]+\b/gi, 'pc') // Android tombstones: "pc 000000000004a8c0"
    .replace(/~~[\w=-]+/g, '~~') // Android's random install directory
    .replace(/\b[0-9a-f]{8,}\b/gi, '<hex>'); // build ids, object ids, long offsets
  if (generated) {
    f = f
      .replace(/:\d+(:\d+)?(?=\)?$|\))/g, '') // file.js:12:34
      .replace(/\$(\d+)/g, '$') // Foo$$Lambda$123, lambda$run$0
      .replace(/\/<addr>/g, '');
  }
  return f.replace(/\s+/g, ' ').trim();
}

/** The top frames of a stack trace, normalized. */
export function topFrames(stackTrace: string, count = FINGERPRINT_FRAMES): string[] {
  const frames: string[] = [];
  for (const line of stackTrace.split('\n', 400)) {
    const trimmed = line.trim();
    if (!trimmed || NOT_A_FRAME.test(trimmed)) continue;
    // The first line of a managed trace is the exception and its message ("java.lang.NPE: x was null"):
    // messages carry ids and values, so only lines that look like frames count.
    if (!looksLikeFrame(trimmed)) continue;
    frames.push(normalizeFrame(trimmed));
    if (frames.length === count) break;
  }
  return frames;
}

function looksLikeFrame(line: string): boolean {
  return /^(at\s|#\d+|\d+\s+\S)/.test(line) || /\(.*\)\s*$/.test(line) || /\bpc\s+[0-9a-f]+/i.test(line) || /\.\w+:\d+/.test(line);
}

/**
 * A crash group's fingerprint: a hash of the crash type and the normalized top frames, so one bug on many
 * devices (other addresses, ids and builds) is one group. Without frames, the normalized message stands in.
 */
export function crashFingerprint(crashType: string, stackTrace: string | null, message: string | null): string {
  const frames = stackTrace ? topFrames(stackTrace) : [];
  const basis = frames.length ? frames : [normalizeFrame((message ?? '').replace(/\d+/g, '<n>'))];
  return createHash('sha256')
    .update(crashType)
    .update('\n')
    .update(basis.join('\n'))
    .digest('hex')
    .slice(0, FINGERPRINT_HEX_CHARS);
}
