/**
 * The live charts of one virtual service or one real server: requests and errors per second,
 * active connections, latency percentiles, bytes in and out, from GET /api/v1/stats?range=10m
 * (1 s points) polled every second while visible.
 */
import { html } from 'htm/preact';
import { get } from '../lib/api.js';
import { formatBytes, formatCount, formatMs, formatRate } from '../lib/format.js';
import { toChartData } from '../lib/stats.js';
import { usePoll } from './hooks.js';
import { TimeChart } from './chart.js';
import { ErrorBox, Loading } from './ui.js';

/** @param {{query: Record<string, string>, compact?: boolean}} props */
export function StatsCharts({ query, compact = false }) {
  const key = JSON.stringify(query);
  const stats = usePoll(() => get('/stats', { range: '10m', ...query }).then((r) => toChartData(r.body)), 1000, [key]);
  if (stats.error && !stats.data) {
    return html`<${ErrorBox} error=${stats.error} title="Statistics are not available" />`;
  }
  if (!stats.data) return html`<${Loading} what="Loading statistics" />`;
  const { t, series } = stats.data;
  const height = compact ? 140 : 180;
  return html`<div class=${compact ? 'charts compact' : 'charts'}>
    <${TimeChart} title="Requests per second" t=${t} height=${height} format=${formatRate}
      lines=${[{ label: 'requests/s', values: series.requestsPerSecond }, { label: 'errors/s', values: series.errorsPerSecond }]} />
    <${TimeChart} title="Active connections" t=${t} height=${height} format=${formatCount}
      lines=${[{ label: 'active', values: series.activeConnections }]} />
    <${TimeChart} title="Latency" t=${t} height=${height} format=${formatMs}
      lines=${[{ label: 'p50', values: series.latencyP50 }, { label: 'p90', values: series.latencyP90 }, { label: 'p99', values: series.latencyP99 }]} />
    <${TimeChart} title="Bytes per second" t=${t} height=${height} format=${(v) => `${formatBytes(v)}/s`}
      lines=${[{ label: 'in', values: series.bytesInPerSecond }, { label: 'out', values: series.bytesOutPerSecond }]} />
  </div>`;
}
