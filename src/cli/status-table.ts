/**
 * `fulcrum status` as tables for a terminal: the virtual services (with the pool each uses), their
 * rules (what each does, where it routes, how often it decided), the pools (who uses each), then one
 * line per real server, the reason last because it is the long one (and the one that says why a
 * server is down). With a gslb section, a GSLB section follows: per FQDN its policy and what the
 * DNS server answers now, then one line per site.
 */
import type { GslbFqdnStatus, GslbSiteStatus, GslbStatus, StatusDocument } from '../admin/types.ts';
import { minutes } from './output.ts';
import { columnWidths, line, table } from './table.ts';

/**
 * What a GSLB site without a check reports (src/gslb/site-probe.ts NOT_CHECKED; a test keeps the
 * two equal). A copy, not an import: site-probe loads every health probe, 40 ms of `fulcrum status`.
 */
export const NOT_CHECKED = 'not checked (check type none)';

const SERVICE_HEADER = ['VIRTUAL SERVICE', 'LISTEN', 'PROTOCOL', 'POOL', 'CONNECTIONS'] as const;
const RULE_HEADER = ['VIRTUAL SERVICE', 'RULE', 'ACTION', 'POOL', 'HITS'] as const;
const POOL_HEADER = ['POOL', 'SCHEDULER', 'PERSISTENCE', 'QUEUED', 'USED BY'] as const;
const HEADER = ['POOL', 'REAL SERVER', 'STATE', 'HEALTH', 'ACTIVE', 'REQUESTS', 'REASON'] as const;
const CERTIFICATE_HEADER = ['VIRTUAL SERVICE', 'CERTIFICATE', 'KEY', 'EXPIRES', 'ISSUER', 'NOTE'] as const;
const ACME_HEADER = ['ACME NAME', 'STATE', 'ISSUER', 'EXPIRES', 'RENEWED', 'NEXT ATTEMPT', 'LAST ERROR'] as const;
const OCSP_HEADER = ['OCSP CERTIFICATE', 'STATE', 'STAPLED', 'THIS UPDATE', 'NEXT UPDATE', 'NEXT FETCH', 'LAST ERROR'] as const;

export function formatStatusTable(doc: StatusDocument): string {
  const out: string[] = [];
  // A DNS-only config has no virtual services: empty tables would only be noise.
  if (doc.virtualServices.length > 0 || doc.gslb === undefined) {
    out.push(...table(SERVICE_HEADER, doc.virtualServices.map((vs) => [vs.name, vs.listen, vs.protocol, vs.pool, String(vs.clientConnections)])));
    const rules = doc.virtualServices.flatMap((vs) => vs.rules.map((rule) => [vs.name, rule.name, rule.action, rule.pool ?? '-', String(rule.hits)]));
    if (rules.length > 0) out.push('', ...table(RULE_HEADER, rules));
    const certificates = doc.virtualServices.flatMap((vs) =>
      (vs.certificates ?? []).map((c) => [vs.name, c.names.join(' '), c.keyType, c.notAfter.slice(0, 10), issuerName(c.issuer), [c.isDefault ? 'default' : '', ...(c.warnings ?? [])].filter((n) => n !== '').join('; ')]),
    );
    if (certificates.length > 0) out.push('', ...table(CERTIFICATE_HEADER, certificates));
    const acme = acmeRows(doc);
    if (acme.length > 0) out.push('', ...table(ACME_HEADER, acme));
    const ocsp = ocspRows(doc);
    if (ocsp.length > 0) out.push('', ...table(OCSP_HEADER, ocsp));
    const pools = doc.pools.map((pool) => [pool.name, pool.scheduler, pool.persistence ?? 'off', String(pool.queued), usedBy(pool.usedBy)]);
    out.push('', ...table(POOL_HEADER, pools));
    const rows: string[][] = [];
    for (const pool of doc.pools) {
      for (const rs of pool.realServers) {
        const health = `${rs.health.up ? 'UP' : 'DOWN'}${rs.ejected ? ' EJECTED' : ''}`;
        rows.push([pool.name, rs.address, rs.state, health, String(rs.activeRequests), String(rs.requests), rs.health.reason]);
      }
    }
    out.push('', ...table(HEADER, rows));
  }
  if (doc.gslb !== undefined) {
    if (out.length > 0) out.push('');
    out.push(...gslbSection(doc.gslb));
  }
  const workers = doc.workers.length === 1 ? '1 worker' : `${doc.workers.length} workers`;
  out.push('', `config generation ${doc.generation}, ${workers} (${doc.workers.join(', ')})`);
  if (doc.workersNotAnswering.length > 0) {
    out.push(`warning: workers ${doc.workersNotAnswering.join(', ')} did not answer in time; ${doc.gslb !== undefined ? 'the counters (ACTIVE, REQUESTS, DNS queries)' : 'ACTIVE and REQUESTS'} leave them out`);
  }
  return `${out.join('\n')}\n`;
}

type CertificateStatus = NonNullable<StatusDocument['virtualServices'][number]['certificates']>[number];

/**
 * One row per certificate file that `part` has something about, once however many services serve
 * it (several services may share a certificate file).
 */
function certificateRows<T extends { certFile: string }>(doc: StatusDocument, part: (c: CertificateStatus) => T | undefined, row: (c: CertificateStatus, p: T) => string[]): string[][] {
  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const vs of doc.virtualServices) {
    for (const c of vs.certificates ?? []) {
      const p = part(c);
      if (p === undefined || seen.has(p.certFile)) continue;
      seen.add(p.certFile);
      rows.push(row(c, p));
    }
  }
  return rows;
}

/** "message (N failures in a row)", or "-". */
function lastError(error: string | null, failures: number): string {
  return error === null ? '-' : `${error}${failures > 1 ? ` (${failures} failures in a row)` : ''}`;
}

/** Each certificate tls.acme manages: its name, state, issuer, expiry, last renewal, next attempt, last error. */
function acmeRows(doc: StatusDocument): string[][] {
  return certificateRows(
    doc,
    (c) => c.acme,
    (_c, a) => [a.name, a.state, a.issuer ?? '-', a.notAfter?.slice(0, 10) ?? '-', minutes(a.lastRenewal), minutes(a.nextAttempt), lastError(a.lastError, a.failures)],
  );
}

/** Each certificate OCSP stapling fetches for: its state, whether it is stapled, the response's dates, the next fetch, the last error. */
function ocspRows(doc: StatusDocument): string[][] {
  return certificateRows(
    doc,
    (c) => c.ocsp,
    (c, o) => [c.names.join(' ') || o.certFile, o.state, o.stapled ? 'yes' : 'no', minutes(o.thisUpdate), minutes(o.nextUpdate), minutes(o.nextFetch), lastError(o.lastError, o.failures)],
  );
}

/** The issuer's CN (or its whole name when it has none): "Fulcrum Test Intermediate CA". */
function issuerName(issuer: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(issuer)?.[1] ?? issuer.replace(/\n/g, ', ');
}

/** "surveyor, surveyor/api": a virtual service's default pool by its name, a rule's as virtual service/rule. */
function usedBy(uses: StatusDocument['pools'][number]['usedBy']): string {
  return uses.length === 0 ? '(unused)' : uses.map((u) => (u.rule === null ? u.virtualService : `${u.virtualService}/${u.rule}`)).join(', ');
}

const SITE_HEADER = ['SITE', 'ADDRESSES', 'HEALTH', 'REASON'] as const;

function gslbSection(gslb: GslbStatus): string[] {
  const dns = gslb.dns;
  const rcodes = Object.entries(dns.responses).map(([rcode, count]) => `${count} ${rcode}`);
  const counters = `${dns.queries} ${dns.queries === 1 ? 'query' : 'queries'}${rcodes.length > 0 ? ` (${rcodes.join(', ')})` : ''}`;
  const out = [`GSLB: DNS on ${gslb.listen.join(', ')}, SOA serial ${gslb.serial}; ${counters}`];
  // One set of widths for every FQDN's sites, so the columns line up down the whole section.
  const rows = gslb.fqdns.map((fqdn) => fqdn.sites.map((site) => [site.name, site.addresses.join(' '), siteHealth(site), siteReason(site)]));
  const widths = columnWidths(SITE_HEADER, rows.flat());
  gslb.fqdns.forEach((fqdn, i) => {
    out.push(`${fqdn.name}: ${fqdn.selection}; answers now ${formatAnswers(fqdn.answers)}`);
    for (const row of [[...SITE_HEADER], ...rows[i]!]) out.push(`  ${line(row, widths)}`);
  });
  if (gslb.fqdns.some((fqdn) => fqdn.sites.some((site) => site.held || site.disabled))) {
    out.push('HELD and DISABLED sites stay out of the answers until: fulcrum gslb site enable FQDN SITE');
  }
  return out;
}

/** UP, DOWN, HELD (down, and out until an operator enables it: recovery manual) or DISABLED (by an operator). */
export function siteHealth(site: Pick<GslbSiteStatus, 'up' | 'held' | 'disabled'>): string {
  if (site.disabled) return 'DISABLED';
  if (site.held) return 'HELD';
  return site.up ? 'UP' : 'DOWN';
}

/** What is going on first ("checks pass again; waiting for manual recovery"), then the last check's words. */
export function siteReason(site: Pick<GslbSiteStatus, 'reason' | 'progress' | 'check'>): string {
  // A site without a check is never "not checked yet": it is up by its config.
  const reason = site.check === NOT_CHECKED ? `always up: ${NOT_CHECKED}` : site.reason;
  return site.progress === '' ? reason : `${site.progress}: ${reason}`;
}

/**
 * "A 192.0.2.10, AAAA 2001:db8::10": per family the FQDN has sites of, the addresses an unlocated
 * client gets now; a rotation as "192.0.2.10 | 198.51.100.20 (in turn)", several addresses in one
 * answer joined by commas.
 */
export function formatAnswers(answers: GslbFqdnStatus['answers']): string {
  const parts: string[] = [];
  for (const [type, family] of Object.entries(answers)) {
    if (family.up.length === 0 && !family.allDown) continue; // no site of this family
    const texts = family.answers.map((a) => a.join(',')).filter((t) => t !== '');
    let text = texts.length === 0 ? 'none (NODATA)' : texts.join(' | ');
    if (texts.length > 1) text += ' (in turn)';
    if (family.allDown) text += ` (no ${type} site up: whenAllDown)`;
    parts.push(`${type} ${text}`);
  }
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}
