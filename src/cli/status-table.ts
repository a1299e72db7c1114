/**
 * `fulcrum status` as a table for a terminal: one line per real server, the reason last because
 * it is the long one (and the one that says why a server is down).
 */
import type { StatusDocument } from '../admin/types.ts';

const HEADER = ['VIRTUAL SERVICE', 'REAL SERVER', 'STATE', 'HEALTH', 'ACTIVE', 'REQUESTS', 'REASON'] as const;

export function formatStatusTable(doc: StatusDocument): string {
  const rows: string[][] = [];
  for (const vs of doc.virtualServices) {
    for (const rs of vs.realServers) {
      const health = `${rs.health.up ? 'UP' : 'DOWN'}${rs.ejected ? ' EJECTED' : ''}`;
      rows.push([vs.name, rs.address, rs.state, health, String(rs.activeRequests), String(rs.requests), rs.health.reason]);
    }
  }
  const widths = HEADER.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(HEADER), ...rows.map(line)];
  const workers = doc.workers.length === 1 ? '1 worker' : `${doc.workers.length} workers`;
  out.push('', `config generation ${doc.generation}, ${workers} (${doc.workers.join(', ')})`);
  if (doc.workersNotAnswering.length > 0) {
    out.push(`warning: workers ${doc.workersNotAnswering.join(', ')} did not answer in time; ACTIVE and REQUESTS leave them out`);
  }
  return `${out.join('\n')}\n`;
}
