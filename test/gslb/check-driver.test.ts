/**
 * The GSLB site check driver against real sockets: checks on their intervals, failover and
 * failback timing, manual recovery, reloads and stop.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { GslbCheckDriver, type SiteCheckStatus } from '../../src/gslb/check-driver.ts';
import { createSiteProbe, type SiteProbe } from '../../src/gslb/site-probe.ts';
import type { SiteEvent } from '../../src/gslb/site-state.ts';
import { closedPort, http, startServer } from '../health/servers.ts';
import { answerBecomes, Flappy, firstA, until, gslbConfig, recordingLogger, siteEvent, startStatusServer, statusDoc } from './check-driver-helpers.ts';

const INTERVAL = 100;
const FALL = 2;
const RISE = 2;
const FQDN = 'www.example.test';

function primaryAndDr(primaryCheck: string, { delay = '0s', recovery = 'automatic', drcWeight = 1, ttl = 20 } = {}): string[] {
  return [
    `- name: ${FQDN}`,
    `  ttl: ${ttl}`,
    '  selection: fixed-weight',
    `  siteFailure: { delay: ${delay}, recovery: ${recovery} }`,
    '  sites:',
    `    - { name: primary, address: 192.0.2.10, weight: 1000, check: ${primaryCheck} }`,
    `    - { name: drc, address: 198.51.100.20, weight: ${drcWeight} }`,
  ];
}

const tcpCheck = (port: number, interval = INTERVAL): string => `{ type: tcp, target: 127.0.0.1:${port}, interval: ${interval}ms, timeout: ${interval}ms, fall: ${FALL}, rise: ${RISE} }`;

/** Counts the checks run, per check type, around the real probes. */
function countingProbe(): { probe: SiteProbe; runs: number } {
  const real = createSiteProbe();
  const counter: { probe: SiteProbe; runs: number } = {
    runs: 0,
    probe: (check, signal) => {
      counter.runs++;
      return real(check, signal);
    },
  };
  return counter;
}

let driver: GslbCheckDriver | null = null;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  driver?.stop();
  driver = null;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function start(fqdnLines: string[], probe?: SiteProbe): { driver: GslbCheckDriver; log: ReturnType<typeof recordingLogger> } {
  const log = recordingLogger();
  driver = new GslbCheckDriver(probe === undefined ? { logger: log } : { logger: log, probe });
  driver.apply(gslbConfig(fqdnLines));
  return { driver, log };
}

describe('GslbCheckDriver', () => {
  it('tcp: fails over within fall x interval + delay + one interval, and back after rise passes', async () => {
    const primary = new Flappy();
    await primary.listen();
    cleanups.push(() => primary.close());
    const delay = 150;
    const { driver, log } = start(primaryAndDr(tcpCheck(primary.port), { delay: `${delay}ms` }));
    assert.equal(firstA(driver, FQDN), '192.0.2.10', 'startAs up: the primary answers before any check');
    await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 2);
    assert.equal(driver.status()[0]!.sites[0]!.checks.failed, 0, 'no failure while it listens');

    const closedAt = performance.now();
    await primary.close();
    const down = await answerBecomes(driver, FQDN, '198.51.100.20');
    const tookDown = performance.now() - closedAt;
    // The first failing check may start right after the close: (fall - 1) intervals (-10 % jitter) + delay at least.
    assert.ok(tookDown >= (FALL - 1) * INTERVAL * 0.9 + delay - 5, `down after ${tookDown} ms: too early for fall ${FALL} and delay ${delay}`);
    assert.ok(tookDown <= FALL * INTERVAL * 1.1 + delay + INTERVAL + 100, `down after ${tookDown} ms: later than fall x interval + delay + one interval`);
    assert.match(down.reason, /site "primary" of www\.example\.test is DOWN after 2 failed checks and a 150ms delay: connection refused on 127\.0\.0\.1:\d+/);
    const warned = log.lines.find((line) => line.level === 'warn');
    assert.ok(warned !== undefined && /is DOWN/.test(warned.message) && /connection refused/.test(warned.message), 'the change is logged as a warning with its reason');
    assert.ok(log.lines.some((line) => /will go DOWN in 150ms unless a check passes/.test(line.message)), 'the delay is logged');

    const listenedAt = performance.now();
    await primary.listen();
    const up = await answerBecomes(driver, FQDN, '192.0.2.10');
    const tookUp = performance.now() - listenedAt;
    assert.ok(tookUp <= RISE * INTERVAL * 1.1 + INTERVAL + 100, `up after ${tookUp} ms`);
    assert.match(up.reason, /is UP after 2 passed checks/);
    const [site] = driver.status()[0]!.sites;
    assert.equal(site!.up, true);
    assert.match(site!.check, /tcp/);
    assert.ok(site!.checks.failed >= FALL && site!.checks.passed >= RISE);
    assert.equal(site!.lastCheck?.ok, true);
  });

  it('http: sends the configured host header and path to the target, and goes down on a bad status', async () => {
    let status = 200;
    const server = await startServer(() => http(status));
    cleanups.push(() => server.close());
    const check = `{ type: http, target: ${server.address}, path: /health, httpVersion: "1.1", host: www.example.test, interval: ${INTERVAL}ms, timeout: ${INTERVAL}ms, fall: 1, rise: 1, startAs: down }`;
    const { driver } = start(primaryAndDr(check));
    assert.equal(firstA(driver, FQDN), '198.51.100.20', 'startAs down: the DR site answers until the first check passes');
    const up = await answerBecomes(driver, FQDN, '192.0.2.10');
    assert.match(up.reason, /its first check passed/);
    const request = server.requests[0]!;
    assert.equal(request.line, 'GET /health HTTP/1.1');
    assert.equal(request.headers.get('host'), 'www.example.test');

    status = 503;
    const down = await answerBecomes(driver, FQDN, '198.51.100.20');
    assert.match(down.reason, /503/);
  });

  it('none: the site is never checked and always up', async () => {
    const counter = countingProbe();
    const { driver } = start([`- name: ${FQDN}`, '  selection: all-available', '  sites:', '    - { name: a, address: 192.0.2.1 }', '    - { name: b, address: 192.0.2.2, check: { type: none } }'], counter.probe);
    await sleep(3 * INTERVAL);
    assert.equal(counter.runs, 0, 'no check runs for type none');
    const [fqdn] = driver.status();
    assert.deepEqual(fqdn!.answers.A.answers, [['192.0.2.1', '192.0.2.2']]);
    assert.deepEqual(fqdn!.sites.map((s) => [s.name, s.up, s.checked, s.check]), [['a', true, false, 'not checked (check type none)'], ['b', true, false, 'not checked (check type none)']]);
  });

  it('fulcrum: up by the other node\'s count of healthy real servers, with its load choosing under real-server-load', async () => {
    const east = await startStatusServer(statusDoc('ntrip', 2, 0, 10));
    const west = await startStatusServer(statusDoc('ntrip', 2, 0, 40));
    cleanups.push(() => east.close(), () => west.close());
    const fulcrum = (address: string): string => `{ type: fulcrum, target: ${address}, virtualService: ntrip, minUp: 1, interval: ${INTERVAL}ms, timeout: ${INTERVAL}ms, fall: 1, rise: 1 }`;
    const { driver } = start([
      '- name: ntrip.example.test',
      '  selection: real-server-load',
      '  sites:',
      `    - { name: east, address: 192.0.2.11, check: ${fulcrum(east.address)} }`,
      `    - { name: west, address: 192.0.2.12, check: ${fulcrum(west.address)} }`,
    ]);
    // 10 connections over 2 servers (5) against 40 over 2 (20): east.
    await until(() => driver.status()[0]!.sites.every((site) => site.load !== null));
    assert.equal(firstA(driver, 'ntrip.example.test'), '192.0.2.11');
    assert.deepEqual(driver.status()[0]!.sites.map((s) => s.load), [5, 20]);

    east.doc = statusDoc('ntrip', 1, 1, 30); // 30 per up server
    const moved = await answerBecomes(driver, 'ntrip.example.test', '192.0.2.12');
    assert.match(moved.reason, /site "east" of ntrip\.example\.test reports load 30/);

    west.doc = statusDoc('ntrip', 0, 2, 0);
    const down = await siteEvent(driver, 'west', 'down');
    assert.match(down.message, /fulcrum node 127\.0\.0\.1:\d+: virtual service ntrip has 0 of 2 real servers up \(minimum 1\)/);
    assert.equal(firstA(driver, 'ntrip.example.test'), '192.0.2.11');

    await west.close();
    await until(() => /no admin API/.test(driver.status()[0]!.sites[1]!.reason));
    assert.match(driver.status()[0]!.sites[1]!.reason, /^no admin API at 127\.0\.0\.1:\d+: connection refused$/);
  });

  it('manual recovery: a recovered primary stays out until enable(), and unknown names get a did-you-mean', async () => {
    const primary = new Flappy();
    await primary.listen();
    cleanups.push(() => primary.close());
    const { driver } = start(primaryAndDr(tcpCheck(primary.port), { recovery: 'manual' }));
    // A check must pass first: a site that never passed one is not held.
    await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
    await primary.close();
    const down = await answerBecomes(driver, FQDN, '198.51.100.20');
    assert.match(down.reason, /stays out until an operator enables it \(recovery: manual\)/);

    await primary.listen();
    const recoverable = await siteEvent(driver, 'primary', 'recoverable');
    assert.match(recoverable.message, /waiting for manual recovery \(fulcrum gslb site enable www\.example\.test primary\)/);
    await sleep(2 * INTERVAL);
    assert.equal(firstA(driver, FQDN), '198.51.100.20', 'passing checks alone do not bring a held site back');
    assert.equal(driver.status()[0]!.sites[0]!.held, true);

    const typo = driver.enable('www.exampel.test', 'primary');
    assert.ok(!typo.ok);
    assert.equal(typo.failure.code, 'FULCRUM_ERR_ADMIN_NOT_FOUND');
    assert.equal(typo.failure.suggestion, FQDN);
    assert.match(typo.failure.message, /no FQDN "www\.exampel\.test" in the gslb section; did you mean "www\.example\.test"\?/);
    const site = driver.enable(FQDN, 'primray');
    assert.ok(!site.ok);
    assert.match(site.failure.message, /no site "primray" of www\.example\.test; did you mean "primary"\?/);

    // A reload that rebuilds the FQDN (a weight changed) keeps the held site out.
    driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port), { recovery: 'manual', drcWeight: 2 })));
    await sleep(2 * INTERVAL);
    assert.equal(firstA(driver, FQDN), '198.51.100.20', 'still held after the reload');

    const changed = once(driver, 'change');
    const enabled = driver.enable(`${FQDN.toUpperCase()}.`, 'primary');
    assert.ok(enabled.ok);
    assert.deepEqual(enabled.events.map((e) => e.kind), ['up']);
    assert.equal(enabled.status.up, true);
    await changed;
    assert.equal(firstA(driver, FQDN), '192.0.2.10');

    const disabled = driver.disable(FQDN, 'primary');
    assert.ok(disabled.ok && disabled.status.disabled);
    assert.equal(firstA(driver, FQDN), '198.51.100.20');
  });

  it('apply keeps the state of an unchanged FQDN, and the state and schedule of a site whose check did not change', async () => {
    const primary = new Flappy();
    await primary.listen();
    await primary.close(); // nothing listens: the primary goes down
    cleanups.push(() => primary.close());
    const counter = countingProbe();
    const { driver } = start(primaryAndDr(tcpCheck(primary.port)), counter.probe);
    await answerBecomes(driver, FQDN, '198.51.100.20');
    const before = driver.state(FQDN);

    driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port), { ttl: 60 })));
    assert.equal(driver.state(FQDN), before, 'a TTL change does not touch the sites: same state object');

    const reasonBefore = driver.status()[0]!.sites[0]!.reason;
    driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port), { drcWeight: 2 })));
    const rebuilt = driver.state(FQDN);
    assert.notEqual(rebuilt, before, 'a weight change rebuilds the selector');
    const kept = driver.status()[0]!.sites[0]!;
    assert.equal(kept.up, false, 'the primary stays down across the reload');
    assert.equal(kept.reason, reasonBefore);
    assert.equal(firstA(driver, FQDN), '198.51.100.20');
    // Its schedule was kept: no extra check started by the reload.
    const runs = counter.runs;
    await sleep(INTERVAL / 2);
    assert.ok(counter.runs <= runs + 1);

    driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port, INTERVAL * 2))));
    assert.equal(firstA(driver, FQDN), '198.51.100.20', 'a changed check keeps the state: still down, not its startAs (up)');
    assert.equal(driver.status()[0]!.sites[0]!.checked, true);
    assert.equal(driver.status()[0]!.sites[0]!.lastCheck, null, 'the changed check has not run yet');

    driver.apply(undefined);
    assert.equal(driver.state(FQDN), undefined);
    const stoppedAt = counter.runs;
    await sleep(3 * INTERVAL);
    assert.equal(counter.runs, stoppedAt, 'an FQDN removed from the config is no longer checked');
  });

  it('stop() abandons a check in flight (its socket closes) and runs no check after it', async () => {
    // Accepts and never answers: an http check stays in flight until its timeout.
    const sockets: Socket[] = [];
    const hung = createServer((socket) => sockets.push(socket.resume()));
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      hung.close();
      await once(hung, 'close');
    });
    const port = (hung.address() as AddressInfo).port;
    const counter = countingProbe();
    const check = `{ type: http, target: 127.0.0.1:${port}, interval: 1s, timeout: 1s, fall: 1, rise: 1 }`;
    const { driver } = start(primaryAndDr(check, { delay: '300ms' }), counter.probe);
    await once(hung, 'connection');
    const events: SiteEvent[] = [];
    driver.on('site', (event) => events.push(event));
    driver.stop();
    await once(sockets[0]!, 'close');
    const runs = counter.runs;
    await sleep(1200);
    assert.equal(counter.runs, runs, 'no check after stop');
    assert.deepEqual(events, [], 'the abandoned check records nothing');
  });

  it('stop() during a siteFailure delay: the delay never ends in a down', async () => {
    const primary = new Flappy();
    await primary.listen();
    cleanups.push(() => primary.close());
    const { driver } = start(primaryAndDr(`{ type: tcp, target: 127.0.0.1:${primary.port}, interval: ${INTERVAL}ms, timeout: ${INTERVAL}ms, fall: 1, rise: 1 }`, { delay: '300ms' }));
    await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
    await primary.close();
    await siteEvent(driver, 'primary', 'delaying');
    const events: SiteEvent[] = [];
    driver.on('site', (event) => events.push(event));
    driver.stop();
    await sleep(500);
    assert.deepEqual(events, []);
    assert.equal(firstA(driver, FQDN), undefined, 'a stopped driver holds no FQDN');
  });

  describe('a reload that rebuilds the FQDN carries each site\'s state by its name', () => {
    /** A primary that passed its checks, then failed fall of them and was held (recovery manual), and now passes again. */
    async function heldPrimary(): Promise<{ driver: GslbCheckDriver; primary: Flappy; log: ReturnType<typeof recordingLogger> }> {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      const { driver, log } = start(primaryAndDr(tcpCheck(primary.port), { recovery: 'manual' }));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      await primary.close();
      await answerBecomes(driver, FQDN, '198.51.100.20');
      await primary.listen();
      await siteEvent(driver, 'primary', 'recoverable');
      return { driver, primary, log };
    }

    it('a held site stays held when the reload edits only its check, and its new check passing does not release it', async () => {
      const { driver, primary } = await heldPrimary();
      const changes: unknown[] = [];
      driver.on('change', (change) => changes.push(change));
      driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port, INTERVAL * 2), { recovery: 'manual' })));
      const site = (): SiteCheckStatus => driver.status()[0]!.sites[0]!;
      assert.deepEqual([firstA(driver, FQDN), site().up, site().held, site().progress], ['198.51.100.20', false, true, 'checks pass again; waiting for manual recovery']);
      assert.match(site().check, /tcp/);
      await until(() => site().checks.passed >= 2, 5000);
      assert.deepEqual([firstA(driver, FQDN), site().up, site().held], ['198.51.100.20', false, true], 'the new check passes and the site stays held');
      assert.deepEqual(changes, [], 'nothing moved');
      assert.ok(driver.enable(FQDN, 'primary').ok);
      assert.equal(firstA(driver, FQDN), '192.0.2.10');
    });

    it('a disabled site stays disabled when the reload edits only its check', async () => {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      const { driver } = start(primaryAndDr(tcpCheck(primary.port)));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      assert.ok(driver.disable(FQDN, 'primary').ok);
      driver.apply(gslbConfig(primaryAndDr(tcpCheck(primary.port, INTERVAL * 2))));
      const site = (): SiteCheckStatus => driver.status()[0]!.sites[0]!;
      assert.deepEqual([firstA(driver, FQDN), site().up, site().disabled], ['198.51.100.20', false, true]);
      await until(() => site().checks.passed >= 2, 5000);
      assert.deepEqual([firstA(driver, FQDN), site().up, site().disabled], ['198.51.100.20', false, true], 'its new check passes and it stays disabled');
    });

    it('a changed check\'s first failure counts toward fall: it does not take a healthy site down by itself', async () => {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      const { driver } = start(primaryAndDr(tcpCheck(primary.port)));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      // The new check's target refuses. Its interval is long so that the first failure is seen well before the second.
      const refusing = await closedPort();
      driver.apply(gslbConfig(primaryAndDr(tcpCheck(refusing, 600))));
      const site = (): SiteCheckStatus => driver.status()[0]!.sites[0]!;
      await until(() => site().checks.failed >= 1, 5000);
      assert.deepEqual([site().up, site().progress, firstA(driver, FQDN)], [true, 'failure 1 of 2 before down', '192.0.2.10']);
      const down = await answerBecomes(driver, FQDN, '198.51.100.20');
      assert.match(down.reason, /is DOWN after 2 failed checks/);
    });

    it('a running siteFailure.delay goes on to the same end across a reload of another site\'s weight', async () => {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      const check = `{ type: tcp, target: 127.0.0.1:${primary.port}, interval: ${INTERVAL}ms, timeout: ${INTERVAL}ms, fall: 1, rise: 1 }`;
      const { driver } = start(primaryAndDr(check, { delay: '600ms' }));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      await primary.close();
      await siteEvent(driver, 'primary', 'delaying');
      const downAt = driver.status()[0]!.sites[0]!.downAt;
      assert.ok(downAt !== null);

      const before = driver.state(FQDN);
      driver.apply(gslbConfig(primaryAndDr(check, { delay: '600ms', drcWeight: 2 })));
      assert.notEqual(driver.state(FQDN), before, 'the weight change rebuilt the FQDN');
      const site = driver.status()[0]!.sites[0]!;
      assert.deepEqual([site.up, site.downAt, site.progress], [true, downAt, 'going down at the end of the 600ms delay unless a check passes']);
      const down = await siteEvent(driver, 'primary', 'down');
      assert.equal(down.at, downAt, 'down when the delay that started before the reload ends');
      assert.equal(firstA(driver, FQDN), '198.51.100.20');
    });

    it('fail counts carry: the failure before the reload and the one after it make fall', async () => {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      // A long interval: the reload comes between the first and the second failure.
      const check = tcpCheck(primary.port, 600);
      const { driver } = start(primaryAndDr(check));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      await primary.close();
      await until(() => driver.status()[0]!.sites[0]!.checks.failed >= 1);
      driver.apply(gslbConfig(primaryAndDr(check, { drcWeight: 2 })));
      assert.equal(driver.status()[0]!.sites[0]!.progress, 'failure 1 of 2 before down');
      const failuresAt = driver.status()[0]!.sites[0]!.checks.failed;
      const down = await answerBecomes(driver, FQDN, '198.51.100.20');
      assert.equal(driver.status()[0]!.sites[0]!.checks.failed, failuresAt + 1, 'down at the next failure');
      assert.match(down.reason, /is DOWN after 2 failed checks/);
    });

    it('moves the new config causes by itself are logged with their reason and emitted as site, not as change', async () => {
      const primary = new Flappy();
      await primary.listen();
      cleanups.push(() => primary.close());
      const check = `{ type: tcp, target: 127.0.0.1:${primary.port}, interval: ${INTERVAL}ms, timeout: ${INTERVAL}ms, fall: 1, rise: 1 }`;
      const { driver, log } = start(primaryAndDr(check, { delay: '5s' }));
      await until(() => driver.status()[0]!.sites[0]!.checks.passed >= 1);
      await primary.close();
      await siteEvent(driver, 'primary', 'delaying');
      const sites: SiteEvent[] = [];
      const changes: unknown[] = [];
      driver.on('site', (event) => sites.push(event));
      driver.on('change', (change) => changes.push(change));

      // The delay is cut to 0s: it has run out, and the site goes down with the reload.
      driver.apply(gslbConfig(primaryAndDr(check, { delay: '0s' })));
      assert.equal(firstA(driver, FQDN), '198.51.100.20');
      assert.deepEqual(sites.map((e) => [e.site, e.kind]), [['primary', 'down']]);
      assert.match(sites[0]!.message, /is DOWN after 1 failed checks and a 0s delay: connection refused/);
      const warned = log.lines.at(-1)!;
      assert.deepEqual([warned.level, warned.message, (warned.fields as { cause?: string }).cause], ['warn', sites[0]!.message, 'reload']);

      // The check is removed: a site without a check is always up.
      driver.apply(gslbConfig(primaryAndDr('{ type: none }', { delay: '0s' })));
      assert.equal(firstA(driver, FQDN), '192.0.2.10');
      assert.deepEqual(sites.map((e) => [e.site, e.kind]), [['primary', 'down'], ['primary', 'up']]);
      assert.match(log.lines.at(-1)!.message, /site "primary" of www\.example\.test is UP: a reload removed its check \(type none\)/);
      assert.deepEqual(changes, [], 'apply emits no change: the supervisor sends every worker the whole state after a reload');
    });
  });
});
