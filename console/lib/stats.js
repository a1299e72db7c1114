/**
 * GET /api/v1/stats as uPlot wants it: one adapter, so a change of the answer's shape is fixed
 * here and nowhere else. Two shapes are read:
 *   points (api-schemas.ts StatsSchema): {range, stepSeconds, points: [{at: ms, ...counters of the step}]}
 *   columns (src/metrics/history.ts): {range, step, series: "virtual-service:web", t: [...], requestsPerSecond: [...],
 *     activeConnections, bytesInPerSecond, bytesOutPerSecond, latencyP50Ms, latencyP90Ms, latencyP99Ms, errorsPerSecond}
 *     (the columns may also sit under `series` as an object)
 * A point's counters may be per-step counts (requests, bytesIn, errors: divided by the step here)
 * or rates already (requestsPerSecond); latency as latencyP50 or latency: {p50}.
 */

export const SERIES = ['requestsPerSecond', 'activeConnections', 'bytesInPerSecond', 'bytesOutPerSecond', 'latencyP50', 'latencyP90', 'latencyP99', 'errorsPerSecond'];

/** For each series: the point fields that hold it, and whether that field is a count per step (to divide). */
const POINT_FIELDS = {
  requestsPerSecond: [['requestsPerSecond', false], ['rps', false], ['requests', true]],
  activeConnections: [['activeConnections', false], ['connections', false], ['active', false], ['activeRequests', false]],
  bytesInPerSecond: [['bytesInPerSecond', false], ['bytesIn', true]],
  bytesOutPerSecond: [['bytesOutPerSecond', false], ['bytesOut', true]],
  latencyP50: [['latencyP50Ms', false], ['latencyP50', false], ['latency.p50', false]],
  latencyP90: [['latencyP90Ms', false], ['latencyP90', false], ['latency.p90', false]],
  latencyP99: [['latencyP99Ms', false], ['latencyP99', false], ['latency.p99', false]],
  errorsPerSecond: [['errorsPerSecond', false], ['errors', true]],
};

const toSeconds = (x) => (typeof x === 'string' ? Date.parse(x) / 1000 : x > 1e11 ? x / 1000 : x);
const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function field(point, name) {
  let node = point;
  for (const key of name.split('.')) node = node && typeof node === 'object' ? node[key] : undefined;
  return node;
}

/** @returns {{t: number[], series: Record<string, (number | null)[]>, step: number}} */
export function toChartData(answer) {
  const source = answer && typeof answer === 'object' ? answer : {};
  const step = typeof source.stepSeconds === 'number' ? source.stepSeconds : typeof source.step === 'number' ? source.step : 1;
  const series = {};
  if (Array.isArray(source.points)) {
    const t = source.points.map((p) => toSeconds(p.at ?? p.t ?? p.time));
    for (const name of SERIES) {
      const found = POINT_FIELDS[name].find(([f]) => source.points.some((p) => finite(field(p, f)) !== null));
      series[name] = source.points.map((p) => {
        if (!found) return null;
        const v = finite(field(p, found[0]));
        return v === null ? null : found[1] ? v / step : v;
      });
    }
    return { t, series, step };
  }
  const columns = source.series && typeof source.series === 'object' ? source.series : source;
  const column = (name) => columns[name] ?? columns[`${name}Ms`];
  const rawT = Array.isArray(source.t) ? source.t : Array.isArray(source.time) ? source.time : Array.isArray(source.timestamps) ? source.timestamps : [];
  const t = rawT.map(toSeconds);
  for (const name of SERIES) {
    const values = column(name);
    series[name] = t.map((_, i) => finite(Array.isArray(values) ? values[i] : undefined));
  }
  return { t, series, step };
}

/** The last value of a series that is not null (what the chart's caption shows as "now"). */
export function latest(values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return values[i];
  return null;
}
