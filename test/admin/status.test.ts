// The status document (config + health + worker counters), the stats collector and the API's
// request handling, in process, with fakes for the supervisor's side.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { AdminServer } from '../../src/admin/server.ts';
import { buildStatus } from '../../src/admin/status.ts';
import type { StatusDocument } from '../../src/admin/types.ts';
import { StatsCollector } from '../../src/admin/worker-stats.ts';
import { GslbCheckDriver } from '../../src/gslb/check-driver.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { ToWorker, WorkerStats } from '../../src/worker/messages.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { api, backendHandler } from './helpers.ts';

function config(yaml: string): Config {
  const loaded = loadConfigText(yaml, 'test.yaml');
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.config;
}

const CONFIG = config(`
virtualServices:
  - name: web
    listen: 127.0.0.1:8080
    protocol: http
    scheduler: least-connections
    realServers:
      - address: 10.0.0.11:80
      - { address: 10.0.0.12:80, weight: 50, state: drain }
      - { address: 10.0.0.13:80, enabled: false }
`);

function worker(servers: Array<Partial<WorkerStats['pools'][number]['realServers'][number]> & { id: string }>, extra: { clientConnections?: number; persistenceEntries?: number | null } = {}): WorkerStats {
  return {
    dns: null,
    virtualServices: [{ name: 'web', clientConnections: extra.clientConnections ?? 0, ruleHits: {} }],
    pools: [
      {
        name: 'web',
        persistenceEntries: extra.persistenceEntries ?? null,
        queued: 0,
        realServers: servers.map((s) => ({ effectiveWeight: 100, ejected: false, inflight: 0, requests: 0, idle: 0, ...s })),
      },
    ],
  };
}

describe('status document', () => {
  it('lists the config in order, sums counters over workers, takes the lowest effective weight, any ejection', () => {
    const doc = buildStatus({
      config: CONFIG,
      health: {
        web: {
          '10.0.0.11:80': { up: false, reason: 'HTTP 400 to "HEAD / HTTP/1.0"', since: '2026-01-01T00:00:00.000Z', check: 'http HEAD /', lastCheck: null, checks: { passed: 0, failed: 3 } },
        },
      },
      stats: [
        worker([{ id: '10.0.0.11:80', inflight: 2, requests: 10, idle: 1, effectiveWeight: 40 }, { id: '10.0.0.12:80', inflight: 1, requests: 5, effectiveWeight: 0 }], { clientConnections: 3, persistenceEntries: 7 }),
        worker([{ id: '10.0.0.11:80', inflight: 1, requests: 20, idle: 2, effectiveWeight: 100, ejected: true }, { id: '10.0.0.12:80', requests: 6, effectiveWeight: 0 }], { clientConnections: 1, persistenceEntries: 2 }),
      ],
      workers: [101, 102, 103],
      workersNotAnswering: [103],
      generation: 4,
      now: Date.parse('2026-01-01T00:00:00Z'),
    });
    assert.deepEqual(doc.workers, [101, 102, 103]);
    assert.deepEqual(doc.workersNotAnswering, [103]);
    assert.equal(doc.generation, 4);
    const [vs] = doc.virtualServices;
    assert.ok(vs !== undefined);
    assert.deepEqual({ name: vs.name, listen: vs.listen, scheduler: vs.scheduler, clientConnections: vs.clientConnections, persistenceEntries: vs.persistenceEntries }, {
      name: 'web',
      listen: '127.0.0.1:8080',
      scheduler: 'least-connections',
      clientConnections: 4,
      persistenceEntries: 9,
    });
    const [a, b, c] = vs.realServers;
    assert.deepEqual(
      { ...a!, health: a!.health.reason },
      { address: '10.0.0.11:80', state: 'enabled', weight: 100, effectiveWeight: 40, health: 'HTTP 400 to "HEAD / HTTP/1.0"', ejected: true, activeRequests: 3, idleConnections: 3, requests: 30 },
    );
    assert.equal(a!.health.up, false);
    assert.deepEqual([b!.state, b!.weight, b!.activeRequests, b!.requests], ['drain', 50, 1, 11]);
    // Not reported by any worker, not known to the health monitor yet.
    assert.deepEqual([c!.state, c!.effectiveWeight, c!.activeRequests, c!.health.reason], ['disabled', 0, 0, 'health checks have not started yet']);
  });

  it("carries an adaptive agent's verdict for the servers that have one", () => {
    const agent = { load: 40, weightPercent: null, operational: 'up' as const, admin: 'ready' as const, agent: 'GET /load', reason: 'load 40', since: '2026-01-01T00:00:00.000Z', lastPoll: null, polls: { ok: 1, failed: 0 } };
    const doc = buildStatus({ config: CONFIG, health: {}, agents: { web: { '10.0.0.12:80': agent } }, stats: [], workers: [], workersNotAnswering: [], generation: 1 });
    const [a, b] = doc.virtualServices[0]!.realServers;
    assert.equal('agent' in a!, false);
    assert.deepEqual(b!.agent, agent);
  });

  it('leaves persistenceEntries out when persistence is off', () => {
    const doc = buildStatus({ config: CONFIG, health: {}, stats: [worker([])], workers: [1], workersNotAnswering: [], generation: 1 });
    assert.equal('persistenceEntries' in doc.virtualServices[0]!, false);
  });
});

describe('status document: gslb', () => {
  const GSLB = config(`
gslb:
  listen: [127.0.0.1:5353, '[::1]:5353']
  zones: [{ name: surveyor.lab, nameServers: [ns1.surveyor.lab], hostmaster: hostmaster@surveyor.lab, records: [{ name: ns1, type: A, value: 192.0.2.53 }] }]
  fqdns:
    - name: www.surveyor.lab
      selection: fixed-weight
      sites:
        - { name: primary, address: [192.0.2.10, 2001:db8::10], weight: 1000 }
        - { name: drc, address: 198.51.100.20 }
`);
  const dns = (queries: number, noerror: number, nxdomain: number) => ({ queries, responses: { NOERROR: noerror, NXDOMAIN: nxdomain }, truncated: 1, dropped: 0, tcpConnections: 2 });

  it('per FQDN: each site with its addresses, health and reason, the answers now; DNS counters summed over workers', () => {
    const driver = new GslbCheckDriver({ logger: { info() {}, warn() {}, error() {} } });
    driver.apply(GSLB.gslb);
    try {
      const stats = [{ virtualServices: [], pools: [], dns: dns(10, 8, 2) }, { virtualServices: [], pools: [], dns: dns(5, 5, 0) }];
      const doc = buildStatus({ config: GSLB, health: {}, stats, workers: [1, 2], workersNotAnswering: [], generation: 1, gslb: { serial: 2026010101, fqdns: driver.status() } });
      assert.ok(doc.gslb !== undefined);
      assert.deepEqual(doc.gslb.listen, ['127.0.0.1:5353', '[::1]:5353']);
      assert.equal(doc.gslb.serial, 2026010101);
      assert.deepEqual(doc.gslb.dns, { queries: 15, responses: { NOERROR: 13, NXDOMAIN: 2 }, truncated: 2, dropped: 0, tcpConnections: 4 });
      const [www] = doc.gslb.fqdns;
      assert.equal(www!.name, 'www.surveyor.lab');
      assert.equal(www!.selection, 'fixed-weight');
      assert.deepEqual(
        www!.sites.map((s) => [s.name, s.addresses, s.weight, s.up, s.check]),
        [
          ['primary', ['192.0.2.10', '2001:db8::10'], 1000, true, 'not checked (check type none)'],
          ['drc', ['198.51.100.20'], 100, true, 'not checked (check type none)'],
        ],
      );
      assert.deepEqual(www!.answers.A.answers, [['192.0.2.10']]);
      assert.deepEqual(www!.answers.AAAA.answers, [['2001:db8::10']]);
    } finally {
      driver.stop();
    }
  });

  it('has no gslb member without a gslb section', () => {
    const doc = buildStatus({ config: CONFIG, health: {}, stats: [], workers: [], workersNotAnswering: [], generation: 1, gslb: { serial: 1, fqdns: [] } });
    assert.equal('gslb' in doc, false);
  });
});

describe('WorkerRuntime.stats', () => {
  it('reports every server of every service with its counters; a server that takes no new clients has effective weight 0', async () => {
    const port = await freePort();
    const runtime = new WorkerRuntime();
    await runtime.apply(
      config(`
accessLog: off
virtualServices:
  - name: web
    listen: 127.0.0.1:${port}
    protocol: http
    persistence: { type: source-ip }
    realServers:
      - { address: 10.0.0.11:80, weight: 30 }
      - { address: 10.0.0.12:80, state: drain }
`),
    );
    try {
      runtime.setHealth('web', '10.0.0.11:80', true, 'HTTP 200');
      // The traffic counters (src/metrics) ride along; their content is the metrics tests' concern.
      const { metrics, ...stats } = runtime.stats();
      assert.deepEqual(metrics?.services.map((s) => [s.name, s.connections]), [['web', 0]]);
      assert.deepEqual(stats, {
        virtualServices: [{ name: 'web', clientConnections: 0, ruleHits: {} }],
        pools: [
          {
            name: 'web',
            persistenceEntries: 0,
            queued: 0,
            realServers: [
              { id: '10.0.0.11:80', effectiveWeight: 30, ejected: false, inflight: 0, requests: 0, idle: 0 },
              { id: '10.0.0.12:80', effectiveWeight: 0, ejected: false, inflight: 0, requests: 0, idle: 0 },
            ],
          },
        ],
        dns: null,
      });
    } finally {
      await runtime.drain(0);
    }
  });
});

/** A worker's IPC end as the collector sees it: answers (or not) the stats requests it gets. */
function fakeChild(pid: number, collector: StatsCollector, answer: WorkerStats | null): ChildProcess {
  const child = Object.assign(new EventEmitter(), {
    pid,
    connected: true,
    send(message: ToWorker, callback?: (error: Error | null) => void): boolean {
      callback?.(null);
      if (answer !== null && message.type === 'stats') setImmediate(() => collector.onMessage({ type: 'stats', id: message.id, data: answer }));
      return true;
    },
  });
  return child as unknown as ChildProcess;
}

describe('stats collector', () => {
  it('a worker that does not answer in time is reported, the others are counted', async () => {
    const collector = new StatsCollector();
    const answered = worker([{ id: '10.0.0.11:80', inflight: 1 }]);
    const started = Date.now();
    const result = await collector.collect([fakeChild(11, collector, answered), fakeChild(12, collector, null), fakeChild(13, collector, answered)], 100);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(result.missing, [12]);
    assert.equal(result.stats.length, 2);
  });
});

describe('admin API request handling', () => {
  let port: number;
  let server: AdminServer;
  const emptyStatus: StatusDocument = { virtualServices: [], pools: [], workers: [1], workersNotAnswering: [], generation: 1 };
  const sites: string[] = [];
  const { handler, changes } = backendHandler({
    status: async () => emptyStatus,
    setSiteState: async (fqdn, site, state) => {
      sites.push(`${fqdn}|${site}|${state}`);
      return { ok: false, failure: { status: 404, code: 'FULCRUM_ERR_ADMIN_NOT_FOUND', message: 'fake' } };
    },
  });
  before(async () => {
    port = await freePort();
    server = await AdminServer.open({ host: '127.0.0.1', port }, handler);
  });
  after(async () => {
    await server.close();
  });

  it('GET /api/v1/status answers JSON, not cached', async () => {
    const answer = await api(port, 'GET', '/api/v1/status');
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /^application\/json/);
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual(answer.body, emptyStatus);
  });

  it('an unknown path is 404 naming where the API is described; a wrong method is 405 with Allow', async () => {
    const missing = await api<{ error: { code: string; message: string } }>(port, 'GET', '/api/v2/status');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    assert.match(missing.body.error.message, /^no endpoint \/api\/v2\/status; the API is described at \/api\/v1\/openapi\.json$/);
    const wrong = await api<{ error: { code: string } }>(port, 'DELETE', '/api/v1/status');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET, HEAD');
    assert.equal(wrong.body.error.code, 'FULCRUM_ERR_ADMIN_METHOD');
    const get = await api(port, 'GET', '/api/v1/virtual-services/web/real-servers/10.0.0.11:80/state');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'PUT');
  });

  it('a bad body is 400 before any change is asked: not JSON, unknown key, no state, a state that does not exist', async () => {
    const path = '/api/v1/virtual-services/web/real-servers/10.0.0.11%3A80/state';
    const cases: Array<[unknown, RegExp]> = [
      ['{"state": drain}', /not JSON/],
      ['', /body is empty/],
      [[], /JSON object/],
      [{ state: 'drain', force: true }, /unknown key "force"/],
      [{}, /no "state"/],
      [{ state: 'drian' }, /"drian" is not a real server state; did you mean "drain"\? allowed: enabled, disabled, drain/],
      [{ state: 3 }, /3 is not a real server state/],
    ];
    for (const [body, message] of cases) {
      const answer = await api<{ error: { code: string; message: string; allowed?: string[] } }>(port, 'PUT', path, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error.code, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
      assert.match(answer.body.error.message, message);
    }
    const bad = await api<{ error: { allowed: string[]; suggestion: string } }>(port, 'PUT', path, { state: 'drian' });
    assert.deepEqual(bad.body.error.allowed, ['enabled', 'disabled', 'drain']);
    assert.equal(bad.body.error.suggestion, 'drain');
    assert.deepEqual(changes, []);
    // A good body reaches the change path, which answers for itself.
    const good = await api<{ error: { message: string } }>(port, 'PUT', path, { state: 'drain' });
    assert.deepEqual([good.status, good.body.error.message], [404, 'not in this test']);
    assert.deepEqual(changes.splice(0), ['realServer.state|web 10.0.0.11:80 drain']);
  });

  it('a GSLB site state: the same checks of the body, with the site states (enabled, disabled)', async () => {
    const path = '/api/v1/gslb/fqdns/www.surveyor.lab/sites/primary/state';
    const cases: Array<[unknown, RegExp]> = [
      ['{"state": enabled}', /not JSON/],
      [[], /JSON object such as \{"state": "enabled"\}/],
      [{ state: 'enabled', force: true }, /unknown key "force"/],
      [{}, /no "state"; send \{"state": "enabled" \| "disabled"\}/],
      [{ state: 'drain' }, /"drain" is not a GSLB site state; allowed: enabled, disabled/],
      [{ state: 'enable' }, /"enable" is not a GSLB site state; did you mean "enabled"\? allowed: enabled, disabled/],
    ];
    for (const [body, message] of cases) {
      const answer = await api<{ error: { code: string; message: string } }>(port, 'PUT', path, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error.code, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
      assert.match(answer.body.error.message, message);
    }
    assert.deepEqual(sites, []);
    const get = await api(port, 'GET', path);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'PUT');
    const dry = await api<{ error: { message: string } }>(port, 'PUT', `${path}?dryRun=true`, { state: 'enabled' });
    assert.equal(dry.status, 400);
    assert.match(dry.body.error.message, /has no dry run/);
    await api(port, 'PUT', `/api/v1/gslb/fqdns/${encodeURIComponent('WWW.surveyor.lab.')}/sites/${encodeURIComponent('dr site')}/state`, { state: 'disabled' });
    assert.deepEqual(sites.splice(0), ['WWW.surveyor.lab.|dr site|disabled']);
    const missing = await api<{ error: { message: string } }>(port, 'GET', '/api/v1/gslb/sites');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /\/api\/v1\/openapi\.json/);
  });

  it('passes the decoded name and address (IPv6 brackets percent-encoded) to the change', async () => {
    await api(port, 'PUT', `/api/v1/virtual-services/web/real-servers/${encodeURIComponent('[2001:db8::1]:80')}/state`, { state: 'drain' });
    await api(port, 'PUT', `/api/v1/pools/${encodeURIComponent('static files')}/real-servers/${encodeURIComponent('10.0.0.12:80')}/state`, { state: 'enabled' });
    assert.deepEqual(changes.splice(0), ['realServer.state|web [2001:db8::1]:80 drain', 'realServer.state|static files 10.0.0.12:80 enabled']);
    const broken = await api<{ error: { code: string } }>(port, 'PUT', '/api/v1/virtual-services/web/real-servers/%E0%A4%A/state', { state: 'drain' });
    assert.deepEqual([broken.status, broken.body.error.code], [400, 'FULCRUM_ERR_ADMIN_BAD_REQUEST']);
    assert.deepEqual(changes, []);
  });

  it('refuses a request addressed to a host name (DNS rebinding from a web page)', async () => {
    const answer = await api<{ error: { code: string } }>(port, 'GET', '/api/v1/status', undefined, { host: 'attacker.example:9090' });
    assert.equal(answer.status, 421);
    assert.equal(answer.body.error.code, 'FULCRUM_ERR_ADMIN_HOST');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      assert.equal((await api(port, 'GET', '/api/v1/status', undefined, { host })).status, 200, host);
    }
  });
});
