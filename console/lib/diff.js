/**
 * Config diffs as lines to show: the API answers a dry run, an audit entry and a version with a
 * diff whose exact form this module absorbs in one place: a unified diff text, `{before, after}`
 * texts (diffed here, line by line), or a list of changes `{path, before?, after?}` / `{op, path, value}`.
 */

/** @typedef {{kind: 'add' | 'del' | 'ctx' | 'hunk' | 'meta', text: string}} DiffLine */

/** @returns {DiffLine[]} */
export function diffLines(diff) {
  if (diff === null || diff === undefined || diff === '') return [];
  if (typeof diff === 'string') return parseUnified(diff);
  if (Array.isArray(diff)) return diff.flatMap(changeLines);
  if (typeof diff === 'object') {
    if (typeof diff.unified === 'string') return parseUnified(diff.unified);
    if (typeof diff.diff === 'string' || Array.isArray(diff.diff)) return diffLines(diff.diff);
    if ('before' in diff || 'after' in diff) return lineDiff(textOf(diff.before), textOf(diff.after));
    if (Array.isArray(diff.changes)) return diff.changes.flatMap(changeLines);
  }
  return [{ kind: 'meta', text: JSON.stringify(diff) }];
}

/** Whether a diff changes anything. */
export function isEmptyDiff(diff) {
  return !diffLines(diff).some((l) => l.kind === 'add' || l.kind === 'del');
}

function textOf(value) {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

function parseUnified(text) {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines
    .filter((line) => !/^(Index: |={3,}$|\\ No newline)/.test(line))
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return { kind: 'meta', text: line };
      if (line.startsWith('@@')) return { kind: 'hunk', text: line };
      if (line.startsWith('+')) return { kind: 'add', text: line.slice(1) };
      if (line.startsWith('-')) return { kind: 'del', text: line.slice(1) };
      return { kind: 'ctx', text: line.startsWith(' ') ? line.slice(1) : line };
    });
}

function changeLines(change) {
  if (typeof change === 'string') return parseUnified(change);
  const path = change.path ?? '';
  const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  const lines = [{ kind: 'hunk', text: `${change.op ? `${change.op} ` : ''}${path}` }];
  if ('before' in change && change.before !== undefined) lines.push({ kind: 'del', text: show(change.before) });
  if ('after' in change && change.after !== undefined) lines.push({ kind: 'add', text: show(change.after) });
  if ('value' in change && change.value !== undefined) lines.push({ kind: change.op === 'remove' ? 'del' : 'add', text: show(change.value) });
  return lines;
}

/**
 * A line diff of two texts (longest common subsequence), with 3 lines of context around changes.
 * Config files are a few hundred lines; 2,000 x 2,000 lines is 4 M cells, the most this accepts
 * before it shows the two texts whole instead.
 */
export function lineDiff(before, after, context = 3) {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  if (a.length * b.length > 4_000_000) {
    return [...a.map((text) => ({ kind: 'del', text })), ...b.map((text) => ({ kind: 'add', text }))];
  }
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const all = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      all.push({ kind: 'ctx', text: a[i] });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      // Removals before additions, as unified diffs show them.
      all.push({ kind: 'del', text: a[i++] });
    } else {
      all.push({ kind: 'add', text: b[j++] });
    }
  }
  const keep = all.map(() => false);
  all.forEach((line, k) => {
    if (line.kind === 'ctx') return;
    for (let c = Math.max(0, k - context); c <= Math.min(all.length - 1, k + context); c++) keep[c] = true;
  });
  const out = [];
  all.forEach((line, k) => {
    if (keep[k]) out.push(line);
    else if (out.length > 0 && out[out.length - 1].kind !== 'hunk' && keep[k - 1]) out.push({ kind: 'hunk', text: '…' });
  });
  return out;
}
