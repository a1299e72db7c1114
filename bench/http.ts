/**
 * The HTTP table: wrk (1 thread, keep-alive connections) against each column, for each scenario.
 * A column is started once per config shape its scenarios need (plain, rules), checked with the
 * scenario's request and probes (check.ts), warmed up, then measured.
 */
import { runWrk, type WrkResult } from '../interop/wrk.ts';
import { checkScenario } from './check.ts';
import { cell, firstLine, fmtMs, fmtRatio, fmtRps } from './format.ts';
import { DIRECT, type BackendNginx, type HttpProxyContext, type HttpProxyDef, type RunningProxy } from './proxies.ts';
import type { ConfigShape, Scenario } from './scenarios.ts';

export interface HttpRow {
  scenario: string;
  proxy: string;
  wrk?: WrkResult;
  error?: string;
  /** Why this column has no number for this scenario (a baseline that cannot load the config). */
  notApplicable?: string;
}

/** `direct`: wrk straight to the real server the scenario's requests end at (the ceiling). */
export function directColumn(backend: BackendNginx): HttpProxyDef {
  return {
    name: DIRECT,
    description: 'wrk straight to nginx',
    shapes: ['plain', 'rules'],
    start: async (_context, shape) => ({ url: shape === 'rules' ? `http://${backend.rulesPools.api}` : backend.url, memoryPids: [], stop: async () => {} }),
  };
}

export interface HttpRunOptions {
  columns: readonly HttpProxyDef[];
  scenarios: readonly Scenario[];
  /** The context for one column and shape (its CPU profile dir differs). */
  context(column: string, shape: ConfigShape): Promise<HttpProxyContext>;
  connections: number;
  durationS: number;
  warmupS: number;
  loadCpus: string | undefined;
  /** wrk Lua scripts by scenario name. */
  scripts: ReadonlyMap<string, string>;
  log(msg: string): void;
}

export async function runHttp(options: HttpRunOptions): Promise<HttpRow[]> {
  const { columns, scenarios, connections, durationS, warmupS, loadCpus, scripts, log } = options;
  const rows: HttpRow[] = [];
  const shapes = [...new Set(scenarios.map((s) => s.shape))];
  for (const def of columns) {
    for (const shape of shapes) {
      const group = scenarios.filter((s) => s.shape === shape);
      if (!def.shapes.includes(shape)) {
        const reason = def.notApplicable?.[shape];
        if (reason !== undefined) for (const s of group) rows.push({ scenario: s.name, proxy: def.name, notApplicable: reason });
        continue;
      }
      let running: RunningProxy;
      try {
        running = await def.start(await options.context(def.name, shape), shape);
      } catch (err) {
        log(`${def.name}: failed to start (${shape} config): ${firstLine(err)}`);
        for (const s of group) rows.push({ scenario: s.name, proxy: def.name, error: `failed to start: ${firstLine(err)}` });
        continue;
      }
      try {
        log(`${def.name}: listening at ${running.url} (${shape} config)`);
        for (const s of group) {
          try {
            const direct = def.name === DIRECT;
            await checkScenario(running.url, s, direct);
            const wrkOptions = {
              url: running.url + (direct ? (s.directPath ?? s.path) : s.path),
              threads: 1,
              connections,
              headers: s.headers,
              ...(loadCpus !== undefined ? { cpus: loadCpus } : {}),
              ...(scripts.has(s.name) ? { script: scripts.get(s.name) } : {}),
            };
            if (warmupS > 0) await runWrk({ ...wrkOptions, durationS: warmupS });
            const wrk = await runWrk({ ...wrkOptions, durationS });
            if (wrk.requests === 0) throw new Error(`wrk completed no request:\n${wrk.raw}`);
            rows.push({ scenario: s.name, proxy: def.name, wrk });
            log(`${def.name} ${s.name}: ${fmtRps(wrk.requestsPerSec)} req/s, p99 ${fmtMs(wrk.latencyMs.p99)}`);
          } catch (err) {
            log(`${def.name} ${s.name}: ${firstLine(err)}`);
            rows.push({ scenario: s.name, proxy: def.name, error: firstLine(err) });
          }
        }
      } finally {
        await running.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
      }
    }
  }
  return rows;
}

/** The HTTP table; with a baseline column, Fulcrum's rows get a ratio to it beside the ratio to HAProxy. */
export function renderHttpTable(rows: readonly HttpRow[], baseline: string | undefined): string {
  const out: string[] = [];
  const versus = baseline !== undefined ? ` vs ${baseline} |` : '';
  out.push(`| scenario | proxy | requests/s | p99 | vs HAProxy |${versus} MiB/s | notes |`);
  out.push(`|---|---|---:|---:|---:|${baseline !== undefined ? '---:|' : ''}---:|---|`);
  const rpsOf = (scenario: string, proxy: string | undefined): number | undefined =>
    rows.find((r) => r.scenario === scenario && r.proxy === proxy)?.wrk?.requestsPerSec;
  for (const row of rows) {
    const gap = baseline !== undefined ? ' |' : '';
    if (row.notApplicable !== undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | n/a | | |${gap} | n/a (${cell(row.notApplicable)}) |`);
      continue;
    }
    if (row.wrk === undefined) {
      out.push(`| ${row.scenario} | ${row.proxy} | error | | |${gap} | ${cell(row.error ?? '')} |`);
      continue;
    }
    const w = row.wrk;
    const notes: string[] = [];
    const se = w.socketErrors;
    if (se.connect + se.read + se.write + se.timeout > 0) notes.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
    if (w.errorResponses > 0) notes.push(`${w.errorResponses} responses ≥ 400`);
    const mibs = w.bytesRead / w.durationS / (1024 * 1024);
    const ofFulcrum = row.proxy.startsWith('fulcrum');
    const vsBaseline = baseline !== undefined ? ` ${ofFulcrum ? fmtRatio(w.requestsPerSec, rpsOf(row.scenario, baseline)) : ''} |` : '';
    out.push(
      `| ${row.scenario} | ${row.proxy} | ${fmtRps(w.requestsPerSec)} | ${fmtMs(w.latencyMs.p99)} | ${fmtRatio(w.requestsPerSec, rpsOf(row.scenario, 'haproxy'))} |${vsBaseline} ${mibs.toFixed(0)} | ${notes.join('; ')} |`,
    );
  }
  return out.join('\n') + '\n';
}
