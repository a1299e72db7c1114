// The /metrics text for a known input: two workers' counters and the status document of a
// config with an http and a tcp service, a rule, a checked real server, a certificate and GSLB.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildStatus } from '../../src/admin/status.ts';
import type { CertificateStatus } from '../../src/admin/types.ts';
import type { FqdnDnsCounters } from '../../src/dns/answerer.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Exchange } from '../../src/exchange/exchange.ts';
import { Termination } from '../../src/exchange/termination.ts';
import { aggregateMetrics } from '../../src/metrics/aggregate.ts';
import { PrometheusExporter } from '../../src/metrics/prometheus.ts';
import { MetricsRecorder } from '../../src/metrics/recorder.ts';
import { TERMINATION_CODES } from '../../src/metrics/terminations.ts';
import { STATUS_CLASSES } from '../../src/metrics/types.ts';
import { RealServer } from '../../src/pool/real-server.ts';
import type { WorkerStats } from '../../src/worker/messages.ts';

const loaded = loadConfigText(
  `
virtualServices:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    rules:
      - name: api
        match: { path: { prefix: /api/ } }
        pool: api
    realServers:
      - address: 127.0.0.1:9001
      - address: 127.0.0.1:9002
  - name: ssh
    listen: 127.0.0.1:2222
    protocol: tcp
    realServers:
      - address: 127.0.0.1:22
pools:
  - name: api
    realServers:
      - address: 127.0.0.1:9101
gslb:
  listen: [127.0.0.1:5353]
  zones: [{ name: surveyor.lab, nameServers: [ns1.surveyor.lab], hostmaster: hostmaster@surveyor.lab, records: [{ name: ns1, type: A, value: 192.0.2.53 }] }]
  fqdns:
    - name: www.surveyor.lab
      selection: fixed-weight
      sites:
        - { name: primary, address: 192.0.2.10, weight: 1000, check: { type: none } }
        - { name: drc, address: 198.51.100.20, check: { type: none } }
`,
  'test.yaml',
);
assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
const CONFIG = loaded.config;

/** An exchange at its end, as a client with a tell-tale address, path and Host would leave it. */
function exchange(status: number, server: RealServer | null, pool = 'web', termination: string = Termination.OK): Exchange {
  return {
    status,
    termination,
    bytesIn: 100,
    bytesOut: 1000,
    server,
    pool: { name: pool },
    startedAt: 10,
    responseHeadAt: server === null ? 0 : 10.7,
    clientAddress: '203.0.113.77',
    target: '/private/customer-42?token=s3cret',
    head: { host: 'attacker.example' },
  } as unknown as Exchange;
}

function workerStats(metrics: MetricsRecorder, dnsFqdns: FqdnDnsCounters[]): WorkerStats {
  return {
    virtualServices: [{ name: 'web', clientConnections: 2, ruleHits: { api: 5 } }],
    pools: [],
    dns: { queries: 6, responses: { NOERROR: 5, NXDOMAIN: 1 }, truncated: 0, dropped: 0, tcpConnections: 0, fqdns: dnsFqdns },
    metrics: metrics.snapshot(),
  };
}

async function render(): Promise<string> {
  const one = new MetricsRecorder();
  const two = new MetricsRecorder();
  const s1 = new RealServer(0, '127.0.0.1', 9001, 1, true);
  const s2 = new RealServer(1, '127.0.0.1', 9002, 1, true);
  const api = new RealServer(0, '127.0.0.1', 9101, 1, true);
  one.service('web').exchange(exchange(200, s1), 0.9);
  one.service('web').exchange(exchange(200, api, 'api'), 0.9);
  two.service('web').exchange(exchange(200, s2), 3);
  two.service('web').exchange(exchange(502, s2, 'web', Termination.UPSTREAM_CONNECT_REFUSED), 3);
  two.service('web').accepted();
  // A service a reload removed: its meter stays in the worker, but it is not rendered.
  two.service('gone').accepted();
  const fqdns: FqdnDnsCounters[] = [
    { name: 'www.surveyor.lab', responses: { NOERROR: 4 }, answersBySite: { primary: 4 } },
    { name: 'other', responses: { NOERROR: 1, NXDOMAIN: 1 }, answersBySite: {} },
    // An FQDN a reload removed: its worker keeps counting nothing more, and it is not rendered.
    { name: 'old.surveyor.lab', responses: { NOERROR: 9 }, answersBySite: { primary: 9 } },
  ];
  const stats = [workerStats(one, fqdns), workerStats(two, fqdns)];
  const certificates = new Map<string, CertificateStatus[]>([
    ['web', [{ names: ['www.example.com'], keyType: 'EC', issuer: 'Test CA', notAfter: '2027-01-01T00:00:00.000Z', certFile: 'certs/web.pem', isDefault: true }]],
  ]);
  const status = buildStatus({
    config: CONFIG,
    health: {
      web: {
        '127.0.0.1:9002': {
          up: false,
          reason: 'connection refused',
          since: '2026-01-01T00:00:00.000Z',
          check: 'tcp',
          lastCheck: { at: '2026-01-01T00:00:00.000Z', ok: false, latencyMs: 12, reason: 'connection refused' },
          checks: { passed: 0, failed: 3 },
        },
      },
    },
    stats,
    workers: [101, 102],
    workersNotAnswering: [],
    generation: 7,
    certificates,
    gslb: {
      serial: 1,
      fqdns: [
        {
          name: 'www.surveyor.lab',
          selection: 'fixed-weight',
          sites: [
            { name: 'primary', up: true, checked: true, reason: 'ok', progress: '', held: false, disabled: false, downAt: null, since: null, check: 'icmp', lastCheck: { at: '2026-01-01T00:00:00.000Z', ok: true, latencyMs: 3, reason: 'ok' }, load: null, checks: { passed: 1, failed: 0 } },
            { name: 'drc', up: false, checked: true, reason: 'no reply', progress: '', held: false, disabled: false, downAt: null, since: null, check: 'icmp', lastCheck: null, load: null, checks: { passed: 0, failed: 1 } },
          ],
          answers: { A: { family: 4, up: ['primary'], allDown: false, answers: [['192.0.2.10']] }, AAAA: { family: 6, up: [], allDown: false, answers: [] } },
        },
      ],
    },
  });
  return new PrometheusExporter({ processMetrics: false }).render({ metrics: aggregateMetrics(stats.map((s) => s.metrics)), status });
}

describe('the Prometheus text', () => {
  it('holds the summed counters, the status gauges and the histograms, with help and type', async () => {
    const text = await render();
    const lines = new Set(text.split('\n'));
    const expected = [
      '# HELP fulcrum_requests_total HTTP requests that ended, by the status class of the answer the client got (none: no response reached it: it left, or the connection was cut).',
      '# TYPE fulcrum_requests_total counter',
      'fulcrum_requests_total{virtual_service="web",status_class="2xx"} 3',
      'fulcrum_requests_total{virtual_service="web",status_class="5xx"} 1',
      'fulcrum_requests_total{virtual_service="ssh",status_class="2xx"} 0',
      'fulcrum_terminations_total{virtual_service="web",termination="ok"} 3',
      'fulcrum_terminations_total{virtual_service="web",termination="upstream-connect-refused"} 1',
      'fulcrum_request_errors_total{virtual_service="web"} 1',
      'fulcrum_request_bytes_total{virtual_service="web"} 400',
      'fulcrum_response_bytes_total{virtual_service="web"} 4000',
      'fulcrum_connections_total{virtual_service="web"} 1',
      'fulcrum_active_connections{virtual_service="web"} 4',
      'fulcrum_rule_hits_total{virtual_service="web",rule="api"} 10',
      'fulcrum_real_server_requests_total{pool="web",real_server="127.0.0.1:9002",status_class="5xx"} 1',
      'fulcrum_real_server_requests_total{pool="api",real_server="127.0.0.1:9101",status_class="2xx"} 1',
      'fulcrum_real_server_connect_errors_total{pool="web",real_server="127.0.0.1:9002"} 1',
      'fulcrum_real_server_up{pool="web",real_server="127.0.0.1:9001"} 1',
      'fulcrum_real_server_up{pool="web",real_server="127.0.0.1:9002"} 0',
      'fulcrum_real_server_state{pool="ssh",real_server="127.0.0.1:22",state="enabled"} 1',
      'fulcrum_real_server_state{pool="ssh",real_server="127.0.0.1:22",state="drain"} 0',
      'fulcrum_real_server_health_check_duration_seconds{pool="web",real_server="127.0.0.1:9002"} 0.012',
      'fulcrum_tls_certificate_expiry_timestamp_seconds{virtual_service="web",certificate="certs/web.pem"} 1798761600',
      'fulcrum_workers 2',
      'fulcrum_config_generation 7',
      'fulcrum_dns_queries_total 12',
      'fulcrum_dns_responses_total{rcode="NXDOMAIN"} 2',
      'fulcrum_dns_fqdn_responses_total{fqdn="www.surveyor.lab",rcode="NOERROR"} 8',
      'fulcrum_dns_fqdn_responses_total{fqdn="other",rcode="NXDOMAIN"} 2',
      'fulcrum_dns_fqdn_answers_total{fqdn="www.surveyor.lab",site="primary"} 8',
      'fulcrum_gslb_site_up{fqdn="www.surveyor.lab",site="drc"} 0',
      'fulcrum_gslb_site_check_duration_seconds{fqdn="www.surveyor.lab",site="primary"} 0.003',
      '# TYPE fulcrum_request_duration_seconds histogram',
      'fulcrum_request_duration_seconds_bucket{virtual_service="web",le="0.0005"} 0',
      'fulcrum_request_duration_seconds_bucket{virtual_service="web",le="0.001"} 2',
      'fulcrum_request_duration_seconds_bucket{virtual_service="web",le="0.0025"} 2',
      'fulcrum_request_duration_seconds_bucket{virtual_service="web",le="0.005"} 4',
      'fulcrum_request_duration_seconds_bucket{virtual_service="web",le="+Inf"} 4',
      'fulcrum_request_duration_seconds_sum{virtual_service="web"} 0.0078',
      'fulcrum_request_duration_seconds_count{virtual_service="web"} 4',
      'fulcrum_upstream_response_duration_seconds_bucket{virtual_service="web",le="0.001"} 4',
      'fulcrum_real_server_request_duration_seconds_count{pool="web",real_server="127.0.0.1:9002"} 2',
    ];
    const missing = expected.filter((line) => !lines.has(line));
    assert.deepEqual(missing, [], `not in:\n${text}`);
    // Only names of the running config: the removed service's meter is not rendered.
    assert.doesNotMatch(text, /virtual_service="gone"/);
    assert.doesNotMatch(text, /old\.surveyor\.lab/);
  });

  it('has no label value that a client chose: only config names and fixed vocabularies', async () => {
    const text = await render();
    for (const tell of ['203.0.113.77', 'private', 'customer-42', 's3cret', 'attacker']) assert.ok(!text.includes(tell), `${tell} in the output`);
    const allowed = new Set<string>([
      ...CONFIG.virtualServices.map((vs) => vs.name),
      ...CONFIG.pools.flatMap((p) => [p.name, ...p.realServers.map((rs) => `${rs.address.host}:${rs.address.port}`)]),
      'api',
      'certs/web.pem',
      'www.surveyor.lab',
      'other',
      'primary',
      'drc',
      'none',
      ...STATUS_CLASSES,
      ...TERMINATION_CODES,
      'enabled',
      'disabled',
      'drain',
      'NOERROR',
      'NXDOMAIN',
    ]);
    const values = [...text.matchAll(/(\w+)="([^"]*)"/g)].filter(([, name]) => name !== 'le').map(([, , value]) => value!);
    assert.ok(values.length > 50);
    assert.deepEqual([...new Set(values.filter((v) => !allowed.has(v)))], []);
  });
});
