/**
 * GET /metrics: the Prometheus text format, rendered in the supervisor from the workers' metrics
 * summed (aggregate.ts) and the admin status document (health, weights, connections, queues,
 * persistence, rule hits, certificates, GSLB), with prom-client on a registry of its own (never
 * the global one, which a library in the process could fill).
 *
 * Counters and gauges are prom-client metrics whose collect() sets them from the input of the
 * scrape (reset, then inc or set); histograms come already bucketed from the workers and are
 * rendered by BucketHistogram. Process metrics of the supervisor come from collectDefaultMetrics.
 *
 * What is rendered, and from where, is prometheus-series.ts. Labels come from the config only
 * (names of services, pools, real servers, rules, FQDNs, sites) and from fixed vocabularies
 * (status classes, termination codes, RCODEs): no path, client address or Host can become a
 * label, so no label can explode.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { COUNTERS, GAUGES, histograms, type PrometheusInput, type SeriesDefinition } from './prometheus-series.ts';

export type { PrometheusInput } from './prometheus-series.ts';

/** prom-client default metrics that fail promtool's lint (see the constructor). */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface PrometheusExporterOptions {
  /** The supervisor's own process metrics (CPU, memory, event loop, GC); default true. */
  processMetrics?: boolean;
}

export class PrometheusExporter {
  readonly registry = new Registry();
  #input: PrometheusInput | null = null;
  /** Scrapes render one at a time: the metrics hold the values of the scrape being rendered. */
  #rendering: Promise<unknown> = Promise.resolve();

  constructor(options: PrometheusExporterOptions = {}) {
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named *_total, which `promtool check metrics` refuses (a _total is a counter);
      // each is the sum of the labelled gauge without the suffix (nodejs_active_handles{type}).
      for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    }
    for (const d of COUNTERS) this.#counter(d);
    for (const d of GAUGES) this.#gauge(d);
    for (const h of histograms(() => this.#input)) this.registry.registerMetric(h.asMetric());
  }

  /** The Content-Type of what render() returns (text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for this input. */
  render(input: PrometheusInput): Promise<string> {
    const run = this.#rendering.then(async () => {
      this.#input = input;
      try {
        return await this.registry.metrics();
      } finally {
        this.#input = null;
      }
    });
    this.#rendering = run.catch(() => {});
    return run;
  }

  #counter(d: SeriesDefinition): void {
    const read = (): PrometheusInput | null => this.#input;
    new Counter({
      name: d.name,
      help: d.help,
      labelNames: d.labels,
      registers: [this.registry],
      collect(this: Counter) {
        this.reset();
        const input = read();
        if (input !== null) d.fill(input, (labels, value) => this.inc(labels, value));
      },
    });
  }

  #gauge(d: SeriesDefinition): void {
    const read = (): PrometheusInput | null => this.#input;
    new Gauge({
      name: d.name,
      help: d.help,
      labelNames: d.labels,
      registers: [this.registry],
      collect(this: Gauge) {
        this.reset();
        const input = read();
        if (input !== null) d.fill(input, (labels, value) => this.set(labels, value));
      },
    });
  }
}
