/**
 * A Prometheus histogram whose buckets are already counted (the workers count them; the
 * supervisor only sums and renders): prom-client's Histogram can only observe values one by one,
 * so this is a metric of our own that the registry renders like its own. The registry asks a
 * metric for `get()` and formats what it answers (registry.js getMetricsAsString), so the
 * `_bucket` lines (cumulative, `le` in seconds, then +Inf), `_sum` and `_count` come out in
 * the exposition format with the registry's escaping, beside the prom-client metrics.
 */
import type { Metric } from 'prom-client';
import { LATENCY_BOUNDS_MS } from './buckets.ts';
import type { HistogramSnapshot } from './types.ts';

export interface HistogramSeries {
  labels: Record<string, string>;
  histogram: HistogramSnapshot;
}

interface Value {
  value: number;
  labels: Record<string, string>;
  metricName: string;
}

/** The `le` label of each finite bound, in seconds ("0.0005", "0.001", ... "30"). */
const LE = Array.from(LATENCY_BOUNDS_MS, (ms) => String(ms / 1000));

export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #read: () => HistogramSeries[];

  /** `read` gives the series to render now (called once per scrape). */
  constructor(name: string, help: string, read: () => HistogramSeries[]) {
    this.name = name;
    this.help = help;
    this.#read = read;
  }

  /** prom-client's registry accepts any object with this shape; its types list only its own classes. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, histogram } of this.#read()) {
      let cumulative = 0;
      for (let i = 0; i < LE.length; i++) {
        cumulative += histogram.counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: LE[i]! }, value: cumulative });
      }
      cumulative += histogram.counts[LE.length] ?? 0;
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
      values.push({ metricName: `${this.name}_sum`, labels, value: histogram.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** The registry's resetMetrics() calls it: nothing is kept here between scrapes. */
  reset(): void {}
}
