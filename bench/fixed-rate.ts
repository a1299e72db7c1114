/**
 * Latency at a fixed request rate: after the throughput runs, Fulcrum (and the baseline) and
 * HAProxy each get half of HAProxy's measured requests/s for the scenario, from h2load paced at
 * that rate (h2load.ts) over as many connections as wrk used, with the same pinning. At half load
 * a proxy is not the bottleneck, so the percentiles show what its own work and pauses add to a
 * request, which requests/s at saturation hides.
 */
import path from 'node:path';
import { checkScenario } from './check.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';
import { runFixedRate, type FixedRateResult } from './h2load.ts';
import type { HttpRow } from './http.ts';
import type { HttpProxyContext, HttpProxyDef, RunningProxy } from './proxies.ts';
import type { ConfigShape, Scenario } from './scenarios.ts';

/** The scenarios measured at a fixed rate too. */
export const FIXED_RATE_SCENARIOS: readonly string[] = ['small', 'rules'];

export interface FixedRateRow {
  scenario: string;
  proxy: string;
  /** Requests per second asked for. */
  rate?: number;
  result?: FixedRateResult;
  error?: string;
  notApplicable?: string;
}

export interface FixedRateRunOptions {
  scenarios: readonly Scenario[];
  /** In the order they run: Fulcrum, the baseline, HAProxy. */
  columns: readonly HttpProxyDef[];
  httpRows: readonly HttpRow[];
  /** BENCH_FIXED_RATE: this rate instead of half HAProxy's. */
  rateOverride: number | undefined;
  context(column: string, shape: ConfigShape): Promise<HttpProxyContext>;
  connections: number;
  durationS: number;
  warmupS: number;
  loadCpus: string | undefined;
  dir: string;
  log(msg: string): void;
}

function targetRate(scenario: string, options: FixedRateRunOptions): number | string {
  if (options.rateOverride !== undefined) return options.rateOverride;
  const haproxy = options.httpRows.find((r) => r.scenario === scenario && r.proxy === 'haproxy')?.wrk;
  if (haproxy === undefined) return `no HAProxy requests/s for ${scenario} in this run: add haproxy to BENCH_ONLY, or set BENCH_FIXED_RATE`;
  return Math.round(haproxy.requestsPerSec / 2);
}

export async function runFixedRates(options: FixedRateRunOptions): Promise<FixedRateRow[]> {
  const { columns, connections, durationS, warmupS, loadCpus, log } = options;
  const rows: FixedRateRow[] = [];
  for (const s of options.scenarios) {
    const rate = targetRate(s.name, options);
    for (const def of columns) {
      const row = { scenario: s.name, proxy: def.name };
      if (!def.shapes.includes(s.shape)) {
        const reason = def.notApplicable?.[s.shape];
        if (reason !== undefined) rows.push({ ...row, notApplicable: reason });
        continue;
      }
      if (typeof rate === 'string') {
        rows.push({ ...row, error: rate });
        continue;
      }
      let running: RunningProxy | undefined;
      try {
        running = await def.start(await options.context(def.name, s.shape), s.shape);
        await checkScenario(running.url, s, false);
        const result = await runFixedRate({
          url: running.url + s.path,
          connections,
          rate,
          durationS,
          warmupS,
          headers: s.headers,
          logFile: path.join(options.dir, `h2load-${s.name}.tsv`),
          ...(loadCpus !== undefined ? { cpus: loadCpus } : {}),
        });
        rows.push({ ...row, rate, result });
        log(`${def.name} ${s.name} at ${fmtRps(rate)} req/s: achieved ${fmtRps(result.achievedRps)}, p99 ${fmtMs(result.latencyMs.p99)}`);
      } catch (err) {
        log(`${def.name} ${s.name} at a fixed rate: ${firstLine(err)}`);
        rows.push({ ...row, rate, error: firstLine(err) });
      } finally {
        await running?.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
      }
    }
  }
  return rows;
}

export function renderFixedRateTable(rows: readonly FixedRateRow[], header: readonly string[]): string {
  const out = [...header, '', '| scenario | proxy | target req/s | achieved req/s | p50 | p90 | p99 | max | p99 vs HAProxy | notes |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---|'];
  for (const row of rows) {
    const target = row.rate !== undefined ? fmtRps(row.rate) : '';
    if (row.notApplicable !== undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | ${target} | n/a | | | | | | n/a (${cell(row.notApplicable)}) |`);
      continue;
    }
    if (row.result === undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | ${target} | error | | | | | | ${cell(row.error ?? '')} |`);
      continue;
    }
    const r = row.result;
    const haproxy = rows.find((h) => h.scenario === row.scenario && h.proxy === 'haproxy')?.result;
    const notes: string[] = [];
    if (r.errorResponses > 0) notes.push(`${r.errorResponses} responses ≥ 400`);
    if (r.failedRequests > 0) notes.push(`${r.failedRequests} requests without a response`);
    const l = r.latencyMs;
    out.push(
      `| ${row.scenario} | ${row.proxy} | ${target} | ${fmtRps(r.achievedRps)} | ${fmtMs(l.p50)} | ${fmtMs(l.p90)} | ${fmtMs(l.p99)} | ${fmtMs(l.max)} | ${fmtRatio(l.p99, haproxy?.latencyMs.p99)} | ${notes.join('; ')} |`,
    );
  }
  return out.join('\n') + '\n';
}
