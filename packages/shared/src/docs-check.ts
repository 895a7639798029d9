import { createHash } from 'node:crypto';
import { escapeHtml, operationsByTag } from './docs.js';

/**
 * What is wrong with a served `/docs` page, as a list of sentences (empty: nothing), for both services'
 * tests: every in-page link lands on an id, ids are unique and free of whitespace, every operation of the
 * OpenAPI document has its section and a link in the contents, the policy forbids scripts and allows the
 * inline stylesheet only by its hash.
 */
export function docsPageProblems(page: { html: string; csp: string | null }, doc: unknown): string[] {
  const { html, csp } = page;
  const problems: string[] = [];
  const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!);
  const idSet = new Set(ids);
  for (const id of ids) {
    if (id === '' || /\s/.test(id)) problems.push(`id ${JSON.stringify(id)} is empty or has whitespace`);
  }
  for (const id of idSet) {
    if (ids.indexOf(id) !== ids.lastIndexOf(id)) problems.push(`id "${id}" is used more than once`);
  }
  for (const [, target] of html.matchAll(/\shref="#([^"]*)"/g)) {
    if (!idSet.has(target!)) problems.push(`link to #${target} has no id="${target}"`);
  }
  for (const [, ops] of operationsByTag(doc)) {
    for (const { method, path } of ops) {
      const heading = `<span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>`;
      const at = html.indexOf(heading);
      const section = at < 0 ? undefined : html.lastIndexOf('<section class="op" id="', at);
      const id = section === undefined || section < 0 ? undefined : /id="([^"]+)"/.exec(html.slice(section))?.[1];
      if (!id) problems.push(`${method.toUpperCase()} ${path} has no section`);
      else if (!html.includes(`<li><a href="#${id}">`)) problems.push(`${method.toUpperCase()} ${path} is not in the contents`);
    }
  }
  if (!csp) problems.push('no Content-Security-Policy');
  else {
    if (!/(^|;)\s*default-src 'none'/.test(csp)) problems.push(`CSP does not default to 'none': ${csp}`);
    if (/unsafe-inline|unsafe-eval|script-src/.test(csp)) problems.push(`CSP allows scripts or inline code: ${csp}`);
    for (const [, style] of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
      const hash = createHash('sha256').update(style!).digest('base64');
      if (!csp.includes(`'sha256-${hash}'`)) problems.push('the inline stylesheet is not allowed by its hash');
    }
  }
  if (/<script|<[a-z][^>]*\son[a-z]+\s*=/i.test(html)) problems.push('the page has a script or an event handler attribute');
  if (/(src|href)="(https?:)?\/\//i.test(html)) problems.push('the page links to or loads from another origin');
  return problems;
}
