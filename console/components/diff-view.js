/**
 * A config diff: removed lines red with "-", added green with "+" (the sign is text, so the
 * meaning does not rest on colour), hunks as separators.
 */
import { html } from 'htm/preact';
import { diffLines } from '../lib/diff.js';

const SIGN = { add: '+', del: '-', ctx: ' ', hunk: '', meta: '' };
const WORD = { add: 'added', del: 'removed' };

/** @param {{diff?: unknown, lines?: {kind: string, text: string}[], label?: string}} props  lines: already computed (lib/diff.js lineDiff). */
export function DiffView({ diff, lines: given, label = 'Config diff' }) {
  const lines = given ?? diffLines(diff);
  if (lines.length === 0) return html`<p class="muted">No differences.</p>`;
  return html`<pre class="diff" tabindex="0" aria-label=${label}>${lines.map(
    (l) => html`<span class=${`diff-${l.kind}`}>${WORD[l.kind] ? html`<span class="sr-only">${WORD[l.kind]}: </span>` : null}${SIGN[l.kind]}${l.text}\n</span>`,
  )}</pre>`;
}
