// Issue 5, the operator's side of GSLB: the admin API status of every FQDN and site, and
// `fulcrum gslb site enable|disable` (and its PUT) against a real Fulcrum answering DNS. The
// primary/DR story with manual recovery: the primary's check target closes, the answers move to
// the DR site, the target comes back and the primary stays out until an operator enables it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode, encode } from 'dns-packet';
import type { GslbFqdnStatus, GslbSiteStatus, StatusDocument } from '../../src/admin/types.ts';
import { freePort, fulcrumBin, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { api, status, waitFor } from './helpers.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const WWW = 'www.surveyor.lab';
const PRIMARY = '192.0.2.10';
const DR = '198.51.100.20';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [fulcrumBin, ...args], { cwd: repoRoot, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** One A query over UDP (dns-packet, independent of src/dns): the addresses answered, in order. */
async function resolveA(port: number, name: string): Promise<string[]> {
  const socket = dgram.createSocket('udp4');
  try {
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const id = Math.floor(Math.random() * 0xffff);
    socket.send(encode({ type: 'query', id, flags: 0x0100, questions: [{ type: 'A', class: 'IN', name }] }), port, '127.0.0.1');
    const timeout = AbortSignal.timeout(2000);
    for (;;) {
      const [message] = (await once(socket, 'message', { signal: timeout })) as [Buffer];
      const reply = decode(message);
      if (reply.id !== id) continue;
      assert.equal((reply.flags ?? 0) & 0x0f, 0, 'RCODE NOERROR');
      return (reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));
    }
  } finally {
    socket.close();
  }
}

/** A check target: a TCP server that accepts and closes, and can close and listen again on its port. */
class TcpTarget {
  readonly port: number;
  #server: net.Server | null = null;
  constructor(port: number) {
    this.port = port;
  }
  async open(): Promise<void> {
    const server = net.createServer((socket) => socket.destroy());
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
  }
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function gslbConfig(adminPort: number, dnsPort: number, primary: number, dr: number): string {
  const check = (port: number) => `{ type: tcp, target: 127.0.0.1:${port}, interval: 200ms, fall: 1, rise: 1 }`;
  return [
    'workers: 1',
    'accessLog: off',
    `admin: { listen: 127.0.0.1:${adminPort} }`,
    'gslb:',
    `  listen: [127.0.0.1:${dnsPort}]`,
    '  zones:',
    '    - name: surveyor.lab',
    '      nameServers: [ns1.surveyor.lab]',
    '      hostmaster: hostmaster@surveyor.lab',
    '      records: [{ name: ns1, type: A, value: 192.0.2.53 }]',
    '  fqdns:',
    `    - name: ${WWW}`,
    '      ttl: 5',
    '      selection: fixed-weight',
    '      siteFailure: { delay: 0s, recovery: manual }',
    '      sites:',
    `        - { name: primary, address: ${PRIMARY}, weight: 1000, check: ${check(primary)} }`,
    `        - { name: drc, address: ${DR}, weight: 1, check: ${check(dr)} }`,
    '    - name: ntrip.surveyor.lab',
    '      sites: [{ name: be, address: 192.0.2.11 }]',
    '',
  ].join('\n');
}

describe('GSLB in the admin API and the CLI (primary and DR, manual recovery)', () => {
  let fulcrum: Fulcrum;
  let adminPort: number;
  let dnsPort: number;
  let primary: TcpTarget;
  let dr: TcpTarget;

  const www = async (): Promise<GslbFqdnStatus> => {
    const doc = await status(adminPort);
    assert.ok(doc.gslb !== undefined, 'status has a gslb member');
    return doc.gslb.fqdns.find((f) => f.name === WWW)!;
  };
  const site = (fqdn: GslbFqdnStatus, name: string): GslbSiteStatus => fqdn.sites.find((s) => s.name === name)!;
  const waitForSite = (name: string, ok: (s: GslbSiteStatus) => boolean, what: string): Promise<GslbFqdnStatus> =>
    waitFor(www, (f) => ok(site(f, name)), 10_000, what);
  const waitForAnswer = (address: string): Promise<string[]> => waitFor(() => resolveA(dnsPort, WWW), (a) => a.join() === address, 10_000, `DNS to answer ${address}`);

  before(async () => {
    [adminPort, dnsPort] = [await freePort(), await freePort()];
    primary = new TcpTarget(await freePort());
    dr = new TcpTarget(await freePort());
    await primary.open();
    await dr.open();
    fulcrum = await startFulcrum({ config: gslbConfig(adminPort, dnsPort, primary.port, dr.port) });
    await waitFor(www, (f) => f.sites.every((s) => s.lastCheck !== null), 10_000, 'the first check of every site');
  });
  after(async () => {
    await fulcrum?.stop();
    await primary?.close();
    await dr?.close();
  });

  it('status lists every FQDN: each site with addresses, health, reason and check, and what the server answers now', async () => {
    const doc = await status(adminPort);
    assert.ok(doc.gslb !== undefined);
    assert.deepEqual(doc.gslb.listen, [`127.0.0.1:${dnsPort}`]);
    assert.ok(Number.isInteger(doc.gslb.serial) && doc.gslb.serial > 0);
    assert.deepEqual(doc.gslb.fqdns.map((f) => f.name), [WWW, 'ntrip.surveyor.lab']);
    const fqdn = doc.gslb.fqdns[0]!;
    assert.equal(fqdn.selection, 'fixed-weight');
    assert.deepEqual(
      fqdn.sites.map((s) => [s.name, s.addresses, s.up, s.held, s.disabled]),
      [
        ['primary', [PRIMARY], true, false, false],
        ['drc', [DR], true, false, false],
      ],
    );
    for (const s of fqdn.sites) {
      assert.match(s.reason, /^connected in /);
      assert.match(s.check, /tcp/);
      assert.equal(s.lastCheck?.ok, true);
    }
    assert.deepEqual(fqdn.answers.A.answers, [[PRIMARY]]);
    assert.deepEqual(fqdn.answers.A.up, ['primary', 'drc']);
    assert.deepEqual(await resolveA(dnsPort, WWW), [PRIMARY]);
    // The workers count the queries; the status sums them.
    const counted = await waitFor(() => status(adminPort), (d) => (d.gslb?.dns.queries ?? 0) >= 1, 5000, 'the DNS counters');
    assert.ok((counted.gslb!.dns.responses['NOERROR'] ?? 0) >= 1);
    assert.equal(counted.virtualServices.length, 0);
  });

  it('fulcrum status prints a GSLB section: per FQDN its policy and answers, per site its health and reason', async () => {
    const run = await cli(['status', '-c', fulcrum.configPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /VIRTUAL SERVICE/, 'a DNS-only config has no virtual service table');
    assert.match(run.stdout, new RegExp(`^GSLB: DNS on 127\\.0\\.0\\.1:${dnsPort}, SOA serial \\d+; \\d+ quer(y|ies)`, 'm'));
    assert.match(run.stdout, new RegExp(`^${WWW}: fixed-weight; answers now A ${PRIMARY}$`, 'm'));
    assert.match(run.stdout, /^ {2}SITE\s+ADDRESSES\s+HEALTH\s+REASON$/m);
    assert.match(run.stdout, new RegExp(`^ {2}primary\\s+${PRIMARY}\\s+UP\\s+connected in `, 'm'));
    assert.match(run.stdout, new RegExp(`^ {2}drc\\s+${DR}\\s+UP\\s+connected in `, 'm'));
    assert.match(run.stdout, /^ntrip\.surveyor\.lab: fixed-weight; answers now A 192\.0\.2\.11$/m);
    assert.match(run.stdout, /^ {2}be\s+192\.0\.2\.11\s+UP\s+always up: not checked \(check type none\)$/m);
  });

  it('the primary fails: DOWN with the reason, held for manual recovery, and the DNS answer moves to the DR site', async () => {
    await primary.close();
    const fqdn = await waitForSite('primary', (s) => !s.up, 'the primary to go down');
    const down = site(fqdn, 'primary');
    assert.match(down.reason, /refused/);
    assert.equal(down.held, true);
    assert.match(down.progress, /held for manual recovery/);
    assert.match(String(down.since), /^\d{4}-\d\d-\d\dT.*Z$/, 'times in ISO 8601, like the real servers\' health');
    assert.equal(down.downAt, null);
    assert.deepEqual(fqdn.answers.A.answers, [[DR]]);
    await waitForAnswer(DR);
    const log = await fulcrum.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('site "primary" of www.surveyor.lab is DOWN'));
    assert.match(String(log.msg), /stays out until an operator enables it/);
  });

  it('the primary comes back: with manual recovery it stays out (status says held and why) and answers stay on the DR site', async () => {
    await primary.open();
    const fqdn = await waitForSite('primary', (s) => s.lastCheck?.ok === true, 'a passing check of the primary');
    const held = site(fqdn, 'primary');
    assert.equal(held.up, false);
    assert.equal(held.held, true);
    assert.match(held.progress, /checks pass again; waiting for manual recovery/);
    assert.match(held.reason, /^connected in /);
    assert.deepEqual(fqdn.answers.A.answers, [[DR]]);
    // Several checks later, still out.
    await waitFor(www, (f) => site(f, 'primary').checks.passed >= 3, 10_000, 'more passing checks');
    assert.deepEqual(await resolveA(dnsPort, WWW), [DR]);
    const run = await cli(['status', '--admin', `127.0.0.1:${adminPort}`]);
    assert.match(run.stdout, new RegExp(`^${WWW}: fixed-weight; answers now A ${DR}$`, 'm'));
    assert.match(run.stdout, new RegExp(`^ {2}primary\\s+${PRIMARY}\\s+HELD\\s+checks pass again; waiting for manual recovery: connected in `, 'm'));
    assert.match(run.stdout, /stay out of the answers until: fulcrum gslb site enable FQDN SITE/);
  });

  it('fulcrum gslb site enable FQDN SITE puts the primary back, and the DNS answer returns to it', async () => {
    const run = await cli(['gslb', 'site', 'enable', WWW, 'primary', '-c', fulcrum.configPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^site "primary" of ${WWW} is enabled; health UP \\(connected in [^)]+\\); answers now: A ${PRIMARY}\\n$`));
    await waitForAnswer(PRIMARY);
    const primaryNow = site(await www(), 'primary');
    assert.deepEqual([primaryNow.up, primaryNow.held, primaryNow.disabled], [true, false, false]);
    await fulcrum.waitForLog((l) => l.msg === `site "primary" of ${WWW} is UP: enabled by an operator`);
  });

  it('fulcrum gslb site disable takes a healthy site out; PUT {"state":"enabled"} puts it back', async () => {
    const run = await cli(['gslb', 'site', 'disable', WWW, 'primary', '--admin', `127.0.0.1:${adminPort}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^site "primary" of ${WWW} is disabled; last check: connected in [^;]+; answers now: A ${DR}\\n$`));
    await waitForAnswer(DR);
    const table = await cli(['status', '-c', fulcrum.configPath]);
    assert.match(table.stdout, new RegExp(`^ {2}primary\\s+${PRIMARY}\\s+DISABLED\\s+disabled by an operator: connected in `, 'm'));

    const put = await api<{ fqdn: string; site: string; status: GslbSiteStatus; answers: GslbFqdnStatus['answers']; events: string[] }>(
      adminPort,
      'PUT',
      `/api/v1/gslb/fqdns/${WWW}/sites/primary/state`,
      { state: 'enabled' },
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.fqdn, WWW);
    assert.equal(put.body.site, 'primary');
    assert.deepEqual([put.body.status.up, put.body.status.disabled], [true, false]);
    assert.deepEqual(put.body.answers.A.answers, [[PRIMARY]]);
    assert.deepEqual(put.body.events, [`site "primary" of ${WWW} is UP: enabled by an operator`]);
    await waitForAnswer(PRIMARY);

    // Again: nothing changes, and the answer says so with no events.
    const again = await api<{ events: string[]; status: GslbSiteStatus }>(adminPort, 'PUT', `/api/v1/gslb/fqdns/${WWW}/sites/primary/state`, { state: 'enabled' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.events, []);
    assert.equal(again.body.status.up, true);
  });

  it('--json prints the API answer', async () => {
    const run = await cli(['gslb', 'site', 'enable', 'WWW.Surveyor.Lab.', 'drc', '--admin', `127.0.0.1:${adminPort}`, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const body = JSON.parse(run.stdout) as { fqdn: string; site: string; status: GslbSiteStatus };
    assert.equal(body.fqdn, WWW, 'the name as the config writes it: lower case, no final dot');
    assert.equal(body.site, 'drc');
    assert.equal(body.status.up, true);
  });

  it('unknown FQDN or site names are 404 with a suggestion; bad bodies are 400; the CLI says so and exits 1', async () => {
    type Failure = { error: { code: string; message: string; suggestion?: string; allowed?: string[] } };
    const fqdn = await api<Failure>(adminPort, 'PUT', '/api/v1/gslb/fqdns/ww.surveyor.lab/sites/primary/state', { state: 'enabled' });
    assert.equal(fqdn.status, 404);
    assert.equal(fqdn.body.error.code, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    assert.equal(fqdn.body.error.suggestion, WWW);
    assert.match(fqdn.body.error.message, /no FQDN "ww\.surveyor\.lab" in the gslb section; did you mean "www\.surveyor\.lab"\?/);

    const missing = await api<Failure>(adminPort, 'PUT', `/api/v1/gslb/fqdns/${WWW}/sites/primry/state`, { state: 'disabled' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.suggestion, 'primary');
    assert.deepEqual(missing.body.error.allowed, ['primary', 'drc']);

    for (const body of [{ state: 'drain' }, { state: 'enabled', now: true }, {}, 'enabled']) {
      const bad = await api<Failure>(adminPort, 'PUT', `/api/v1/gslb/fqdns/${WWW}/sites/primary/state`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.error.code, 'FULCRUM_ERR_ADMIN_BAD_REQUEST');
    }

    const run = await cli(['gslb', 'site', 'disable', WWW, 'primry', '-c', fulcrum.configPath]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^fulcrum: no site "primry" of www\.surveyor\.lab; did you mean "primary"\? \(FULCRUM_ERR_ADMIN_NOT_FOUND\)\n$/);
    // Nothing was disabled by the failed calls.
    const doc: StatusDocument = await status(adminPort);
    assert.ok(doc.gslb!.fqdns[0]!.sites.every((s) => s.up && !s.disabled));
  });

  it('usage errors exit 2 with the help', async () => {
    for (const args of [['gslb'], ['gslb', 'zone'], ['gslb', 'site', 'drain', WWW, 'primary'], ['gslb', 'site', 'enable', WWW], ['gslb', 'site', 'enable', WWW, 'primary', 'extra']]) {
      const run = await cli([...args, '-c', fulcrum.configPath]);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /Usage: fulcrum/);
    }
  });

  it('fulcrum check counts the GSLB FQDNs and zones', async () => {
    const run = await cli(['check', '-c', fulcrum.configPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${fulcrum.configPath}: OK (0 virtual services, 2 GSLB FQDNs in 1 zone)\n`);
  });
});
