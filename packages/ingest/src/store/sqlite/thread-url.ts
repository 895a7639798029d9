/**
 * The URL of a worker thread's module in this folder (`file` as built: `writer-thread.js`). Under vitest this
 * folder is the TypeScript source, which a worker cannot load: the thread then runs the built copy in dist/
 * (`tsc -b` first, as for the child-process tests).
 */
export function threadUrl(file: string): URL {
  const url = new URL(`./${file}`, import.meta.url);
  if (!import.meta.url.endsWith('.ts')) return url;
  const at = url.pathname.lastIndexOf('/src/');
  return new URL(`file://${url.pathname.slice(0, at)}/dist/${url.pathname.slice(at + 5)}`);
}
