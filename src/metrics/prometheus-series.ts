/**
 * What GET /metrics holds: every fulcrum_* series with its help text, labels and where its values
 * come from in a scrape's input (the workers' summed counters, the status document), for the
 * exporter (prometheus.ts) to register. Names carry their unit (_seconds, _bytes) and counters end
 * in _total, as Prometheus's naming rules and `promtool check metrics` ask.
 *
 * Labels come from the config only, never from a request: virtual_service, pool, real_server (the
 * configured address), status_class (none, 1xx..5xx), termination (the fixed codes of
 * termination.ts), rule, reason (HTTP/2 flood limits), certificate (the configured file), fqdn,
 * site, rcode, state. Only names of the running config are rendered: a worker keeps the counters
 * of a name a reload removed, and Prometheus simply stops seeing that label set.
 */
import type { StatusDocument } from '../admin/types.ts';
import type { FqdnDnsCounters } from '../dns/answerer.ts';
import { OTHER_FQDN } from './dns-meters.ts';
import { BucketHistogram, type HistogramSeries } from './histogram-metric.ts';
import { STATUS_CLASSES, type MetricsSnapshot, type RealServerMetrics, type ServiceMetrics } from './types.ts';

export interface PrometheusInput {
  /** Every worker's metrics, summed (aggregateMetrics). */
  metrics: MetricsSnapshot;
  /** GET /api/v1/status of the same moment. */
  status: StatusDocument;
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

/** A counter or gauge: `fill` emits its series for one scrape's input. */
export interface SeriesDefinition {
  name: string;
  help: string;
  labels: readonly string[];
  fill(input: PrometheusInput, emit: Emit): void;
}

/** The services of the running config, with their summed counters (zeros before any traffic). */
function services(input: PrometheusInput): Array<{ name: string; m: ServiceMetrics | undefined }> {
  const byName = new Map(input.metrics.services.map((s) => [s.name, s]));
  return input.status.virtualServices.map((vs) => ({ name: vs.name, m: byName.get(vs.name) }));
}

/** Real servers counted by the workers, in pools of the running config (the sorry server included). */
function servers(input: PrometheusInput): RealServerMetrics[] {
  const pools = new Set(input.status.pools.map((p) => p.name));
  return input.metrics.realServers.filter((r) => pools.has(r.pool));
}

function rsLabels(r: { pool: string; address: string }): Labels {
  return { pool: r.pool, real_server: r.address };
}

function perService(pick: (m: ServiceMetrics) => number): SeriesDefinition['fill'] {
  return (input, emit) => {
    for (const { name, m } of services(input)) emit({ virtual_service: name }, m === undefined ? 0 : pick(m));
  };
}

function perServer(pick: (r: RealServerMetrics) => number): SeriesDefinition['fill'] {
  return (input, emit) => {
    for (const r of servers(input)) emit(rsLabels(r), pick(r));
  };
}

/** The real servers of the running config with their status (health, weights, connections). */
function configuredServers(input: PrometheusInput) {
  return input.status.pools.flatMap((pool) => pool.realServers.map((rs) => ({ pool: pool.name, rs })));
}

/** The DNS counters of the FQDNs of the running config, and of `other` (a worker keeps the counters of an FQDN a reload removed). */
function fqdnCounters(input: PrometheusInput): FqdnDnsCounters[] {
  const gslb = input.status.gslb;
  if (gslb === undefined) return [];
  const names = new Set([...gslb.fqdns.map((f) => f.name), OTHER_FQDN]);
  return (gslb.dns.fqdns ?? []).filter((f) => names.has(f.name));
}

/** A DNS counter, rendered only with a gslb section. */
function dnsCounter(pick: (dns: NonNullable<StatusDocument['gslb']>['dns']) => number): SeriesDefinition['fill'] {
  return (input, emit) => {
    if (input.status.gslb !== undefined) emit({}, pick(input.status.gslb.dns));
  };
}

const VS = ['virtual_service'] as const;
const RS = ['pool', 'real_server'] as const;

export const COUNTERS: readonly SeriesDefinition[] = [
  {
    name: 'fulcrum_requests_total',
    help: 'HTTP requests that ended, by the status class of the answer the client got (none: no response reached it: it left, or the connection was cut).',
    labels: ['virtual_service', 'status_class'],
    fill(input, emit) {
      for (const { name, m } of services(input)) STATUS_CLASSES.forEach((cls, i) => emit({ virtual_service: name, status_class: cls }, m?.statusClasses[i] ?? 0));
    },
  },
  {
    name: 'fulcrum_terminations_total',
    help: 'HTTP requests, and TCP, UDP and FTP connections or sessions, that ended, by termination code (docs/termination-codes.md); denied and rate-limited count access and rate-limit refusals. Codes seen only.',
    labels: ['virtual_service', 'termination'],
    fill(input, emit) {
      for (const { name, m } of services(input)) for (const [code, count] of Object.entries(m?.terminations ?? {})) emit({ virtual_service: name, termination: code }, count);
    },
  },
  {
    name: 'fulcrum_request_errors_total',
    help: 'HTTP requests answered 5xx or failed on our or the real server\'s side (upstream, no server, queue, connection limit, internal error), and Layer 4 connections that failed so; each counted once.',
    labels: VS,
    fill: perService((m) => m.errors),
  },
  { name: 'fulcrum_request_bytes_total', help: 'Bytes received from clients (HTTP: requests as read; TCP, UDP, FTP: relayed towards the real servers).', labels: VS, fill: perService((m) => m.requestBytes) },
  { name: 'fulcrum_response_bytes_total', help: 'Bytes sent to clients.', labels: VS, fill: perService((m) => m.responseBytes) },
  { name: 'fulcrum_connections_total', help: 'Client connections accepted (UDP: sessions opened).', labels: VS, fill: perService((m) => m.connections) },
  { name: 'fulcrum_tls_handshakes_total', help: 'TLS handshakes with clients that completed.', labels: VS, fill: perService((m) => m.tlsHandshakes) },
  { name: 'fulcrum_tls_handshake_errors_total', help: 'TLS handshakes with clients that failed or timed out (no shared version or cipher, an alert, not TLS, a refused client certificate).', labels: VS, fill: perService((m) => m.tlsHandshakeErrors) },
  { name: 'fulcrum_http2_streams_total', help: 'HTTP/2 streams (requests) clients opened.', labels: VS, fill: perService((m) => m.http2Streams) },
  {
    name: 'fulcrum_http2_connections_closed_total',
    help: 'HTTP/2 connections Fulcrum closed, by reason: an abuse limit of http2.floods, or protocol-error.',
    labels: ['virtual_service', 'reason'],
    fill(input, emit) {
      for (const vs of input.status.virtualServices) {
        if (vs.http2 === undefined) continue;
        for (const [limit, count] of Object.entries(vs.http2.floods)) emit({ virtual_service: vs.name, reason: limit }, count);
        emit({ virtual_service: vs.name, reason: 'protocol-error' }, vs.http2.protocolErrors);
      }
    },
  },
  {
    name: 'fulcrum_rule_hits_total',
    help: 'Requests each content rule decided (since each worker built the rule).',
    labels: ['virtual_service', 'rule'],
    fill(input, emit) {
      for (const vs of input.status.virtualServices) for (const rule of vs.rules) emit({ virtual_service: vs.name, rule: rule.name }, rule.hits);
    },
  },
  {
    name: 'fulcrum_real_server_requests_total',
    help: 'HTTP requests a real server served (or that failed on it), by the status class of the answer the client got.',
    labels: ['pool', 'real_server', 'status_class'],
    fill(input, emit) {
      for (const r of servers(input)) STATUS_CLASSES.forEach((cls, i) => emit({ ...rsLabels(r), status_class: cls }, r.statusClasses[i] ?? 0));
    },
  },
  { name: 'fulcrum_real_server_connections_total', help: 'TCP, UDP and FTP connections or sessions a real server served that ended.', labels: RS, fill: perServer((r) => r.sessions) },
  { name: 'fulcrum_real_server_request_bytes_total', help: 'Bytes of client requests (Layer 4: client to server) sent to a real server, as read from the client.', labels: RS, fill: perServer((r) => r.requestBytes) },
  { name: 'fulcrum_real_server_response_bytes_total', help: 'Bytes of a real server\'s responses (Layer 4: server to client) sent to the clients.', labels: RS, fill: perServer((r) => r.responseBytes) },
  { name: 'fulcrum_real_server_errors_total', help: 'Requests and connections on a real server that were answered 5xx or failed.', labels: RS, fill: perServer((r) => r.errors) },
  {
    name: 'fulcrum_real_server_connect_errors_total',
    help: 'Requests and connections that ended because their real server could not be reached (refused, timed out, unreachable, TLS failed), after the retries.',
    labels: RS,
    fill: perServer((r) => r.connectErrors),
  },
  { name: 'fulcrum_dns_queries_total', help: 'DNS messages received (UDP and TCP).', labels: [], fill: dnsCounter((dns) => dns.queries) },
  {
    name: 'fulcrum_dns_responses_total',
    help: 'DNS responses sent, by RCODE.',
    labels: ['rcode'],
    fill(input, emit) {
      for (const [rcode, count] of Object.entries(input.status.gslb?.dns.responses ?? {})) emit({ rcode }, count);
    },
  },
  { name: 'fulcrum_dns_truncated_total', help: 'UDP DNS answers that did not fit the client\'s buffer and went out truncated (TC set).', labels: [], fill: dnsCounter((dns) => dns.truncated) },
  { name: 'fulcrum_dns_dropped_total', help: 'DNS messages answered with nothing (too short, or a response).', labels: [], fill: dnsCounter((dns) => dns.dropped) },
  { name: 'fulcrum_dns_tcp_connections_total', help: 'DNS TCP connections accepted.', labels: [], fill: dnsCounter((dns) => dns.tcpConnections) },
  {
    name: 'fulcrum_dns_fqdn_responses_total',
    help: 'DNS responses by GSLB FQDN and RCODE; fqdn="other" counts every query whose name is no GSLB FQDN (zone records, NXDOMAIN, REFUSED).',
    labels: ['fqdn', 'rcode'],
    fill(input, emit) {
      for (const fqdn of fqdnCounters(input)) for (const [rcode, count] of Object.entries(fqdn.responses)) emit({ fqdn: fqdn.name, rcode }, count);
    },
  },
  {
    name: 'fulcrum_dns_fqdn_answers_total',
    help: 'GSLB answers by FQDN and by the site whose addresses they held (an answer holding several sites counts for each; site="none": no site, NODATA or a whenAllDown address).',
    labels: ['fqdn', 'site'],
    fill(input, emit) {
      for (const fqdn of fqdnCounters(input)) for (const [site, count] of Object.entries(fqdn.answersBySite)) emit({ fqdn: fqdn.name, site }, count);
    },
  },
];

const REAL_SERVER_STATES = ['enabled', 'disabled', 'drain'] as const;

export const GAUGES: readonly SeriesDefinition[] = [
  { name: 'fulcrum_workers', help: 'Worker processes running.', labels: [], fill: (input, emit) => emit({}, input.status.workers.length) },
  { name: 'fulcrum_workers_not_answering', help: 'Workers that did not answer the stats request in time: their counters are missing from this scrape.', labels: [], fill: (input, emit) => emit({}, input.status.workersNotAnswering.length) },
  { name: 'fulcrum_config_generation', help: 'The config generation the workers run (1 at start, +1 per applied reload).', labels: [], fill: (input, emit) => emit({}, input.status.generation) },
  {
    name: 'fulcrum_active_connections',
    help: 'Client connections open now.',
    labels: VS,
    fill(input, emit) {
      for (const vs of input.status.virtualServices) emit({ virtual_service: vs.name }, vs.clientConnections);
    },
  },
  {
    name: 'fulcrum_tls_certificate_expiry_timestamp_seconds',
    help: 'When a certificate a virtual service serves expires (notAfter), as a Unix time; alert on it minus time().',
    labels: ['virtual_service', 'certificate'],
    fill(input, emit) {
      for (const vs of input.status.virtualServices) for (const c of vs.certificates ?? []) emit({ virtual_service: vs.name, certificate: c.certFile }, Date.parse(c.notAfter) / 1000);
    },
  },
  {
    name: 'fulcrum_pool_queued',
    help: 'Requests or connections waiting in a pool\'s queue (every real server at its maxConnections).',
    labels: ['pool'],
    fill(input, emit) {
      for (const pool of input.status.pools) emit({ pool: pool.name }, pool.queued);
    },
  },
  {
    name: 'fulcrum_pool_persistence_entries',
    help: 'Entries in a pool\'s persistence tables, summed over the workers (pools with persistence only).',
    labels: ['pool'],
    fill(input, emit) {
      for (const pool of input.status.pools) if (pool.persistenceEntries !== undefined) emit({ pool: pool.name }, pool.persistenceEntries);
    },
  },
  {
    name: 'fulcrum_real_server_up',
    help: 'The active health check\'s verdict on a real server: 1 up, 0 down.',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) emit({ pool, real_server: rs.address }, rs.health.up ? 1 : 0);
    },
  },
  {
    name: 'fulcrum_real_server_state',
    help: 'What the config asks of a real server: 1 for its state (enabled, disabled, drain), 0 for the others.',
    labels: ['pool', 'real_server', 'state'],
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) for (const state of REAL_SERVER_STATES) emit({ pool, real_server: rs.address, state }, rs.state === state ? 1 : 0);
    },
  },
  {
    name: 'fulcrum_real_server_effective_weight',
    help: 'The weight new clients see: 0 while disabled, draining, down or ejected (in any worker), below the configured weight during slow start.',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) emit({ pool, real_server: rs.address }, rs.effectiveWeight);
    },
  },
  {
    name: 'fulcrum_real_server_active_requests',
    help: 'Requests (Layer 4: connections) in flight to a real server; a drained server is ready for maintenance at 0.',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) emit({ pool, real_server: rs.address }, rs.activeRequests);
    },
  },
  {
    name: 'fulcrum_real_server_idle_connections',
    help: 'Idle keep-alive connections to a real server.',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) emit({ pool, real_server: rs.address }, rs.idleConnections);
    },
  },
  {
    name: 'fulcrum_real_server_ejected',
    help: 'Outlier detection has ejected a real server in at least one worker: 1, else 0.',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) emit({ pool, real_server: rs.address }, rs.ejected ? 1 : 0);
    },
  },
  {
    name: 'fulcrum_real_server_health_check_duration_seconds',
    help: 'How long the last active health check of a real server took (servers checked at least once).',
    labels: RS,
    fill(input, emit) {
      for (const { pool, rs } of configuredServers(input)) if (rs.health.lastCheck !== null) emit({ pool, real_server: rs.address }, rs.health.lastCheck.latencyMs / 1000);
    },
  },
  {
    name: 'fulcrum_gslb_site_up',
    help: 'A GSLB site as its checks (and an operator) leave it: 1 in the answers, 0 out.',
    labels: ['fqdn', 'site'],
    fill(input, emit) {
      for (const fqdn of input.status.gslb?.fqdns ?? []) for (const site of fqdn.sites) emit({ fqdn: fqdn.name, site: site.name }, site.up ? 1 : 0);
    },
  },
  {
    name: 'fulcrum_gslb_site_check_duration_seconds',
    help: 'How long the last check of a GSLB site took (sites checked at least once).',
    labels: ['fqdn', 'site'],
    fill(input, emit) {
      for (const fqdn of input.status.gslb?.fqdns ?? []) for (const site of fqdn.sites) if (site.lastCheck !== null) emit({ fqdn: fqdn.name, site: site.name }, site.lastCheck.latencyMs / 1000);
    },
  },
];

export function histograms(read: () => PrometheusInput | null): BucketHistogram[] {
  const perService = (pick: (m: ServiceMetrics) => ServiceMetrics['duration']) => (): HistogramSeries[] => {
    const input = read();
    if (input === null) return [];
    return services(input).flatMap(({ name, m }) => (m === undefined ? [] : [{ labels: { virtual_service: name }, histogram: pick(m) }]));
  };
  return [
    new BucketHistogram('fulcrum_request_duration_seconds', 'HTTP requests, from the arrival of the request head to the end of the exchange.', perService((m) => m.duration)),
    new BucketHistogram(
      'fulcrum_upstream_response_duration_seconds',
      'HTTP requests, from the arrival of the request head to the real server\'s response head: filters, queue, connect and the real server\'s own time.',
      perService((m) => m.upstream),
    ),
    new BucketHistogram('fulcrum_real_server_request_duration_seconds', 'HTTP requests a real server served, from the arrival of the request head to the end of the exchange.', () => {
      const input = read();
      return input === null ? [] : servers(input).map((r) => ({ labels: rsLabels(r), histogram: r.duration }));
    }),
  ];
}
