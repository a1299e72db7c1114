/**
 * The memory table: each HTTP proxy started afresh (after the throughput runs, heaps and buffer
 * pools have grown to absorb thousands of connections without a change in RSS), then idle
 * keep-alive client connections opened against it (idle.ts).
 */
import { cell, firstLine } from './format.ts';
import { measureIdleConnections, type IdleResult } from './idle.ts';
import type { HttpProxyContext, HttpProxyDef, RunningProxy } from './proxies.ts';

export interface MemoryRow {
  proxy: string;
  idle?: IdleResult;
  error?: string;
}

export async function runMemory(defs: readonly HttpProxyDef[], context: HttpProxyContext, connections: number, log: (msg: string) => void): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const def of defs) {
    let running: RunningProxy | undefined;
    try {
      running = await def.start(context, 'plain');
      const idle = await measureIdleConnections(Number(new URL(running.url).port), running.memoryPids, connections);
      rows.push({ proxy: def.name, idle });
      log(`${def.name}: ${idle.perConnectionKiB.toFixed(2)} KiB per idle connection`);
    } catch (err) {
      log(`${def.name}: memory: ${firstLine(err)}`);
      rows.push({ proxy: def.name, error: firstLine(err) });
    } finally {
      await running?.stop().catch((err: unknown) => log(`${def.name}: stop failed: ${firstLine(err)}`));
    }
  }
  return rows;
}

export function renderMemoryTable(rows: readonly MemoryRow[]): string {
  const out: string[] = ['### Memory per idle keep-alive client connection', ''];
  out.push('Each connection makes one request (`GET /`), reads the response, then stays open and idle; RSS of the proxy process(es) from /proc before and after. Measured on a fresh instance after 1,000 warm-up connections were opened and closed.', '');
  out.push('| proxy | idle connections | RSS before | RSS after | KiB per connection | still open |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const m of rows) {
    if (m.idle === undefined) {
      out.push(`| ${m.proxy} | error | | | | ${cell(m.error ?? '')} |`);
      continue;
    }
    const i = m.idle;
    out.push(`| ${m.proxy} | ${i.connections} | ${(i.rssBeforeKiB / 1024).toFixed(1)} MiB | ${(i.rssAfterKiB / 1024).toFixed(1)} MiB | ${i.perConnectionKiB.toFixed(2)} | ${i.stillOpen} |`);
  }
  return out.join('\n') + '\n';
}
