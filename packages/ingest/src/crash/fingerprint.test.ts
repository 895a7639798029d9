import { describe, expect, it } from 'vitest';
import { crashFingerprint, normalizeFrame, topFrames } from './fingerprint.js';

describe('crash fingerprint', () => {
  it('normalizes what differs between devices and builds', () => {
    const cases: Array<[string, string]> = [
      ['#00 pc 000000000004a8c0  /system/lib64/libc.so (abort+164)', 'pc /system/lib64/libc.so (abort)'],
      ['#03 pc 0x7f12ab34  /data/app/~~Xy1Z/lib/arm64/libgame.so (Render::draw()+0x20)', 'pc <addr> /data/app/~~/lib/arm64/libgame.so (Render::draw())'],
      ['at renderFrame (https://cdn.example.com/app.3f9a2b1c7d.js:1:48213)', 'renderFrame (https://cdn.example.com/app.<hex>.js)'],
      ['at com.dev.Game.lambda$onStart$3(Game.java:42)', 'com.dev.Game.lambda$onStart$(Game.java)'],
      ['at com.dev.Game.onStart(Game.java:42)', 'com.dev.Game.onStart(Game.java:42)'],
      ['at Object.<anonymous> (/srv/app/main.mjs:10:5)', 'Object.<anonymous> (/srv/app/main.mjs)'],
      ['3   libsystem.dylib   0x00000001a2b3c4d5 objc_msgSend + 32', 'libsystem.dylib <addr> objc_msgSend'],
    ];
    for (const [frame, want] of cases) expect(normalizeFrame(frame), frame).toBe(want);
  });

  it('takes the top frames only, skipping the exception line and "Caused by"', () => {
    const trace = [
      'java.lang.IllegalStateException: user 8f2c91aa not found',
      '\tat com.dev.A.a(A.java:1)',
      '\tat com.dev.B.b(B.java:2)',
      'Caused by: java.io.IOException',
      '\tat com.dev.C.c(C.java:3)',
      '\tat com.dev.D.d(D.java:4)',
      '\tat com.dev.E.e(E.java:5)',
      '\tat com.dev.F.f(F.java:6)',
      '\t... 12 more',
    ].join('\n');
    expect(topFrames(trace)).toEqual(['com.dev.A.a(A.java:1)', 'com.dev.B.b(B.java:2)', 'com.dev.C.c(C.java:3)', 'com.dev.D.d(D.java:4)', 'com.dev.E.e(E.java:5)']);
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
