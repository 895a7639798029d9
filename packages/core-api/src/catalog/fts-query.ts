import { MAX_SEARCH_TERM_CHARS, MAX_SEARCH_TERMS } from '../limits.js';

/** A run of letters, digits and combining marks: roughly what FTS5's unicode61 tokenizer keeps as a token. */
const TERM = /[\p{L}\p{N}\p{M}]+/gu;
const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * Turns whatever a person typed into a safe FTS5 MATCH expression, or says there is nothing to match.
 *
 * Every term is quoted as an FTS5 string ("..." with `"` doubled), so operators (`AND`, `OR`, `NOT`,
 * `NEAR(`), column filters (`name:`), `*`, `^`, `-` and quotes in user text are plain text, never syntax.
 * Terms are implicitly ANDed; the last one becomes a prefix query (`"cam"*` finds Camera) so results
 * appear as people type. Punctuation and emoji separate terms, as the tokenizer would; at most
 * MAX_SEARCH_TERMS terms of MAX_SEARCH_TERM_CHARS each are used.
 *
 * @returns `undefined` for a blank query (list everything), `null` for text with no searchable term
 *   (match nothing), else the expression.
 */
export function ftsMatchExpression(q: string | undefined): string | null | undefined {
  if (q === undefined || q.trim() === '') return undefined;
  const terms = (q.normalize('NFKC').match(TERM) ?? [])
    .filter((t) => HAS_WORD_CHAR.test(t))
    .slice(0, MAX_SEARCH_TERMS)
    .map((t) => Array.from(t).slice(0, MAX_SEARCH_TERM_CHARS).join(''));
  if (!terms.length) return null;
  const quoted = terms.map((t) => `"${t.replaceAll('"', '""')}"`);
  quoted[quoted.length - 1] += '*';
  return quoted.join(' ');
}
