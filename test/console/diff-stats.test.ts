import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTwoFilesPatch } from 'diff';
import { diffLines, isEmptyDiff, lineDiff } from '../../console/lib/diff.js';
import { latest, toChartData } from '../../console/lib/stats.js';
import { href, parseRoute } from '../../console/lib/router.js';

test('a unified diff as the API sends it (the diff package\'s patch) becomes marked lines', () => {
  const patch = createTwoFilesPatch('fulcrum.yaml', 'fulcrum.yaml', 'pools:\n  - name: web\n    scheduler: round-robin\n', 'pools:\n  - name: web\n    scheduler: least-connections\n', 'running', 'after this change');
  const lines = diffLines(patch);
  assert.deepEqual(lines.filter((l) => l.kind === 'del'), [{ kind: 'del', text: '    scheduler: round-robin' }]);
  assert.deepEqual(lines.filter((l) => l.kind === 'add'), [{ kind: 'add', text: '    scheduler: least-connections' }]);
  assert.ok(lines.some((l) => l.kind === 'hunk'));
  assert.ok(lines.some((l) => l.kind === 'ctx' && l.text === '  - name: web'));
  assert.ok(!lines.some((l) => l.text.startsWith('====')), 'the separator line is dropped');
  assert.equal(isEmptyDiff(patch), false);
  assert.equal(isEmptyDiff(''), true);
  assert.deepEqual(diffLines(null), []);
});

test('other diff shapes: {before, after} texts, a change list', () => {
  const lines = diffLines({ before: 'a\nb\nc\n', after: 'a\nB\nc\n' });
  assert.deepEqual(lines, [
    { kind: 'ctx', text: 'a' },
    { kind: 'del', text: 'b' },
    { kind: 'add', text: 'B' },
    { kind: 'ctx', text: 'c' },
  ]);
  assert.deepEqual(diffLines([{ path: '$.weight', before: 1, after: 2 }]), [
    { kind: 'hunk', text: '$.weight' },
    { kind: 'del', text: '1' },
    { kind: 'add', text: '2' },
  ]);
});

test('lineDiff keeps 3 lines of context and marks the gaps', () => {
  const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const after = before.replace('line 10', 'line ten');
  const lines = lineDiff(before, after);
  assert.equal(lines.filter((l) => l.kind === 'ctx').length, 6);
  assert.deepEqual(lines.slice(3, 5), [{ kind: 'del', text: 'line 10' }, { kind: 'add', text: 'line ten' }]);
  assert.deepEqual(lineDiff('same\n', 'same\n'), []);
  assert.deepEqual(lineDiff('', 'new'), [{ kind: 'add', text: 'new' }]);
});

test('stats as points (the API\'s Stats schema): counts per step become rates, ms become s', () => {
  const data = toChartData({
    range: '10m',
    stepSeconds: 2,
    points: [
      { at: 1_700_000_000_000, requests: 10, bytesIn: 2048, bytesOut: 4096, activeConnections: 3, latency: { p50: 1, p90: 2, p99: 9 }, errors: 2 },
      { at: 1_700_000_002_000, requests: 20, bytesIn: 0, bytesOut: 0, activeConnections: 0, latency: { p50: 1.5, p90: 3, p99: 10 }, errors: 0 },
    ],
  });
  assert.deepEqual(data.t, [1_700_000_000, 1_700_000_002]);
  assert.deepEqual(data.series.requestsPerSecond, [5, 10]);
  assert.deepEqual(data.series.bytesInPerSecond, [1024, 0]);
  assert.deepEqual(data.series.activeConnections, [3, 0]);
  assert.deepEqual(data.series.latencyP99, [9, 10]);
  assert.deepEqual(data.series.errorsPerSecond, [1, 0]);
  assert.equal(data.step, 2);
});

test('stats as src/metrics/history.ts answers them: columns at the top, latency in ms', () => {
  const data = toChartData({ range: '10m', step: 1, series: 'virtual-service:web', t: [100, 101], requestsPerSecond: [3, 4], activeConnections: [1, 0], bytesInPerSecond: [10, 20], bytesOutPerSecond: [30, 40], latencyP50Ms: [1.5, null], latencyP90Ms: [2, null], latencyP99Ms: [9, null], errorsPerSecond: [0, 1] });
  assert.deepEqual(data.t, [100, 101]);
  assert.deepEqual(data.series.requestsPerSecond, [3, 4]);
  assert.deepEqual(data.series.latencyP50, [1.5, null]);
  assert.deepEqual(data.series.latencyP99, [9, null]);
  assert.deepEqual(data.series.errorsPerSecond, [0, 1]);
});

test('stats as columns under series; gaps stay null; latest skips them', () => {
  const data = toChartData({ range: '10m', step: 1, t: [100, 101, 102], series: { requestsPerSecond: [1, null, 3], latencyP50: [0.5] } });
  assert.deepEqual(data.t, [100, 101, 102]);
  assert.deepEqual(data.series.requestsPerSecond, [1, null, 3]);
  assert.deepEqual(data.series.latencyP50, [0.5, null, null]);
  assert.deepEqual(data.series.bytesOutPerSecond, [null, null, null]);
  assert.equal(latest(data.series.latencyP50!), 0.5);
  assert.equal(latest([]), null);
  assert.deepEqual(toChartData(null).t, []);
});

test('hash routes', () => {
  assert.deepEqual(parseRoute('#/pools/web%20pool?tab=x'), { page: 'pools', args: ['web pool'], query: { tab: 'x' } });
  assert.deepEqual(parseRoute('#/edit/real-servers/web/%5B%3A%3A1%5D%3A80'), { page: 'edit', args: ['real-servers', 'web', '[::1]:80'], query: {} });
  assert.deepEqual(parseRoute(''), { page: '', args: [], query: {} });
  assert.equal(href('edit', 'real-servers', 'web', '[::1]:80'), '#/edit/real-servers/web/%5B%3A%3A1%5D%3A80');
});
