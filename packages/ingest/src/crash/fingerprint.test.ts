import { describe, expect, it } from 'vitest';
import { MAX_STACK_TRACE_BYTES } from '../limits.js';
import { CORPUS } from './fingerprint.corpus.js';
import { crashFingerprint, describeChain, LINE_MAX_CHARS, normalizeFrame, parseStack, SCAN_MAX_CHARS, SCAN_MAX_LINES } from './fingerprint.js';

const variants = CORPUS.flatMap((c) =>
  c.variants.map((v) => ({ case: c.name, group: v.group, name: v.name, fingerprint: crashFingerprint(c.crashType, v.stack, v.message ?? null) })),
);

/** Every pair of the variants given that breaks the corpus's expectation, by name. */
function wrongPairs(of: typeof variants): string[] {
  const wrong: string[] = [];
  for (let i = 0; i < of.length; i++) {
    for (let j = i + 1; j < of.length; j++) {
      const a = of[i]!;
      const b = of[j]!;
      const same = a.case === b.case && a.group === b.group;
      if (same !== (a.fingerprint === b.fingerprint)) wrong.push(`${same ? 'split' : 'merged'}: "${a.name}" / "${b.name}" (${a.case})`);
    }
  }
  return wrong;
}

describe('crash fingerprint corpus (fingerprint.corpus.ts)', () => {
  it.each(CORPUS.map((c) => [c.name]))('%s: variants of one bug group together, other bugs apart', (name) => {
    expect(wrongPairs(variants.filter((v) => v.case === name))).toEqual([]);
  });

  it('no two cases share a fingerprint', () => {
    expect(wrongPairs(variants)).toEqual([]);
  });
});

describe('crash fingerprint', () => {
  it('normalizes each frame format to what is the same on every device and build', () => {
    const cases: Array<[string, string | null]> = [
      ['#00 pc 000000000004a8c0  /system/lib64/libc.so (abort+164)', 'libc.so abort'],
      ['#03 pc 0x7f12ab34  /data/app/~~Xy1Z/lib/arm64/libgame.so (Render::draw()+0x20)', 'libgame.so Render::draw()'],
      ['#01 pc 0000000000019f04  /data/app/~~a==/com.x-b==/base.apk!libvision.so (offset 0x2f1000) (BuildId: 1111)', 'libvision.so pc 19f04'],
      ['#02 pc 00000000000104c8  [anon:dalvik-jit-code-cache] (com.x.Native.parse+160)', 'com.x.Native.parse'],
      ['at renderFrame (https://cdn.example.com/app.3f9a2b1c7d.js:1:48213)', 'renderFrame (app.js)'],
      ['at https://host/static/main.3f9a1c.js?v=123#top:2:1000', '<anonymous> (main.js)'],
      ['at Object.<anonymous> (/srv/app/main.mjs:10:5)', 'Object.<anonymous> (main.mjs)'],
      ['loadAll/<@https://host/assets/gallery-DiwrgTda.js:40:7', 'loadAll/< (gallery.js)'],
      ['at com.dev.Game.lambda$onStart$3(Game.java:42)', 'com.dev.Game.lambda$onStart$ (Game.java)'],
      ['at com.dev.Game.onStart(Game.java:42)', 'com.dev.Game.onStart (Game.java)'],
      ['at java.base@17.0.9/java.util.ArrayList.forEach(ArrayList.java:1596)', 'java.util.ArrayList.forEach (ArrayList.java)'],
      ['at com.x.Worker$$Lambda$12/0x000000080012c440.accept(Unknown Source)', 'com.x.Worker$$Lambda.accept (Unknown Source)'],
      ['at com.x.Ui$$ExternalSyntheticLambda3.onClick(Unknown Source:2)', 'com.x.Ui$$ExternalSyntheticLambda.onClick (Unknown Source)'],
      ['3   libsystem.dylib   0x00000001a2b3c4d5 objc_msgSend + 32', 'libsystem.dylib objc_msgSend'],
      ['4   MyApp   0x0000000104a3d456 0x104a00000 + 250966', 'MyApp + 250966'],
      ['0  0x00007f3a2b1c1a2b /data/app/x/lib/arm64/libfoo.so + 0x1a2b', 'libfoo.so + 0x1a2b'],
      ['  10:     0x55d1c2a3b4cf - myapp::camera::Camera::capture::h4d5e6f7a8b9c0d1e', 'myapp::camera::Camera::capture'],
      ['java.lang.IllegalStateException: user 8f2c91aa not found', null],
    ];
    for (const [frame, want] of cases) expect(normalizeFrame(frame), frame).toBe(want);
  });

  it('reads a "Caused by:" chain: every type, each wrapper where it was thrown, the root cause by its top frames', () => {
    const trace = [
      'java.lang.IllegalStateException: user 8f2c91aa not found',
      '\tat com.dev.A.a(A.java:1)',
      '\tat com.dev.B.b(B.java:2)',
      '\tSuppressed: java.io.IOException: close failed',
      '\t\tat com.dev.S.s(S.java:9)',
      '\tCaused by: java.io.EOFException',
      '\t\tat com.dev.T.t(T.java:9)',
      'Caused by: java.io.IOException: fd 12',
      '\tat com.dev.C.c(C.java:3)',
      '\tat com.dev.C.c(C.java:3)',
      '\tat com.dev.D.d(D.java:4)',
      '\tat com.dev.E.e(E.java:5)',
      '\tat com.dev.F.f(F.java:6)',
      '\tat com.dev.G.g(G.java:7)',
      '\tat com.dev.H.h(H.java:8)',
      '\t... 12 more',
      'Caused by: java.lang.NullPointerException',
      '\t... 12 more',
    ].join('\n');
    expect(describeChain(parseStack(trace))).toEqual([
      'exception java.lang.IllegalStateException',
      'at com.dev.A.a (A.java)',
      'exception java.io.IOException',
      'at com.dev.C.c (C.java)',
      'at com.dev.D.d (D.java)',
      'at com.dev.E.e (E.java)',
      'at com.dev.F.f (F.java)',
      'at com.dev.G.g (G.java)',
      'exception java.lang.NullPointerException',
    ]);
  });

  it('gives one bug on many devices one fingerprint, and different bugs different ones', () => {
    const device = (addr: string, offset: number, bundle: string) =>
      [`#00 pc ${addr}  /system/lib64/libc.so (abort+${offset})`, `at draw (https://cdn/app.${bundle}.js:1:${offset * 7})`, `#02 pc ${addr}  /data/libgame.so (tick+12)`].join('\n');
    const a = crashFingerprint('native_signal', device('000000000004a8c0', 164, 'aa11bb22cc'), 'SIGSEGV at 0x1');
    const b = crashFingerprint('native_signal', device('00000000deadbeef', 168, 'ff99ee8877'), 'SIGSEGV at 0x2');
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(crashFingerprint('anr', device('000000000004a8c0', 164, 'aa11bb22cc'), null)).not.toBe(a);
    expect(crashFingerprint('native_signal', '#00 pc 0000000000001234  /system/lib64/libc.so (raise+8)', null)).not.toBe(a);
  });

  it('falls back to the message without digits when there is no stack trace', () => {
    expect(crashFingerprint('oom', null, 'out of memory: 512 MB')).toBe(crashFingerprint('oom', '', 'out of memory: 768 MB'));
    expect(crashFingerprint('oom', null, 'out of memory')).not.toBe(crashFingerprint('oom', null, 'disk full'));
  });
});

describe('crash fingerprint work is bounded by construction', () => {
  const top = ['java.lang.IllegalStateException: boom', '\tat com.dev.A.a(A.java:1)', '\tat com.dev.B.b(B.java:2)'];
  const cause = (name: string) => [`Caused by: java.io.IOException: ${name}`, `\tat com.dev.${name}.run(${name}.java:1)`];
  /** `top`, then `filler`, then a cause, padded to the largest stack trace a crash may carry. */
  const trace = (filler: string[], causeName: string) => {
    const head = [...top, ...filler, ...cause(causeName)].join('\n');
    return head + '\n' + 'x'.repeat(MAX_STACK_TRACE_BYTES - head.length - 1);
  };
  const fp = (stack: string) => crashFingerprint('managed_exception', stack, null);

  it('a cause within the scanned head counts (so the next tests would see one)', () => {
    expect(fp(trace([], 'Near'))).not.toBe(fp(trace([], 'Other')));
  });

  it(`reads only the first ${SCAN_MAX_CHARS} characters: a cause after them does not change the fingerprint`, () => {
    const filler = Array.from({ length: Math.ceil(SCAN_MAX_CHARS / 200) }, () => 'x'.repeat(199)); // < SCAN_MAX_LINES lines
    expect(filler.length).toBeLessThan(SCAN_MAX_LINES);
    const s = trace(filler, 'Far');
    expect(s.length).toBe(MAX_STACK_TRACE_BYTES);
    expect(fp(s)).toBe(fp(trace(filler, 'Other')));
    expect(fp(s)).toBe(fp(top.join('\n')));
  });

  it(`reads only the first ${SCAN_MAX_LINES} lines: a cause after them does not change the fingerprint`, () => {
    const filler = Array.from({ length: SCAN_MAX_LINES }, () => 'x');
    expect(fp(trace(filler, 'Far'))).toBe(fp(trace(filler, 'Other')));
    expect(fp(trace(filler, 'Far'))).toBe(fp(top.join('\n')));
  });

  it(`cuts lines at ${LINE_MAX_CHARS} characters: a 256 KiB line is read only that far`, () => {
    // One line of the largest size, differing within the scanned head but after the cut.
    const line = (tail: string) => {
      const head = `\tat com.dev.A.${'a'.repeat(SCAN_MAX_CHARS / 2)}${tail}(A.java:1)`;
      return head + 'b'.repeat(MAX_STACK_TRACE_BYTES - head.length);
    };
    expect(line('X').length).toBe(MAX_STACK_TRACE_BYTES);
    expect(fp(line('X'))).toBe(fp(line('Y')));
    expect(fp(`\tat com.dev.A.${'a'.repeat(LINE_MAX_CHARS - 40)}X(A.java:1)`)).not.toBe(fp(`\tat com.dev.A.${'a'.repeat(LINE_MAX_CHARS - 40)}Y(A.java:1)`));
  });
});
