/**
 * The user story of issue 3: a site moved to IIS with host-header bindings; the default check
 * sent `HEAD / HTTP/1.0` to the bare IP, IIS answered 400, every real server was silently marked
 * down. Here the server is a raw socket that answers 400 unless the request names its site.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import type { HealthChange } from '../../src/health/types.ts';
import { recordingLogger, waitFor } from './monitor-helpers.ts';
import { http, startServer, type TestServer } from './servers.ts';

/** An IIS site bound to one host name: 400 Bad Request - Invalid Hostname for anything else. */
function hostBound(site: string) {
  return startServer((request) =>
    request.headers.get('host') === site ? http(200, 'OK') : http(400, 'Bad Request - Invalid Hostname'),
  );
}

let ntrip: TestServer;
let www: TestServer;
before(async () => {
  ntrip = await hostBound('ntrip.surveyor.lab');
  www = await hostBound('www.surveyor.lab');
});
after(async () => {
  await ntrip.close();
  await www.close();
});

function config(check: string[]): Config {
  const text = [
    'virtualServices:',
    '  - name: ntrip-web',
    '    listen: 127.0.0.1:8080',
    '    protocol: http',
    '    healthCheck:',
    ...check.map((line) => `      ${line}`),
    '      interval: 100ms',
    '      timeout: 50ms',
    '    realServers:',
    `      - address: ${ntrip.address}`,
    `      - address: ${www.address}`,
    '        healthCheck: { host: www.surveyor.lab }',
  ].join('\n');
  const result = loadConfigText(text, 'fulcrum.yaml');
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
  return result.config;
}

describe('user story: a host-header site behind an HTTP/1.0 check', () => {
  it('HTTP/1.0 marks it DOWN and says why and what to change; HTTP/1.1 with host marks it UP', async () => {
    const logger = recordingLogger();
    const monitor = new HealthMonitor({ logger });
    const changes: HealthChange[] = [];
    monitor.on('change', (change) => changes.push(change));
    try {
      // The LoadMaster's default: HEAD / HTTP/1.0, no Host.
      monitor.apply(config(['type: http', 'method: HEAD', 'path: /', 'httpVersion: "1.0"']));
      await waitFor(() => changes.filter((c) => !c.up).length === 2, 2000, 'both servers down');
      const expected = 'HTTP 400 to "HEAD / HTTP/1.0" (expected 200-299, 301, 302, 401); if this server serves sites by host name, use httpVersion "1.1" with host';
      assert.equal(changes.find((c) => c.server === ntrip.address)?.reason, expected);
      assert.ok(logger.entries.some((e) => e.level === 'warn' && e.message === `real server ${ntrip.address} in "ntrip-web" is DOWN: ${expected}`));
      const down = monitor.status()['ntrip-web']?.[ntrip.address];
      assert.equal(down?.up, false);
      assert.equal(down?.reason, expected);
      assert.equal(down?.lastCheck?.reason, expected);
      assert.equal(down?.check, `http "HEAD / HTTP/1.0" to ${ntrip.address}, no Host header`);
      assert.equal(ntrip.requests[0]?.raw, 'HEAD / HTTP/1.0\r\nConnection: close\r\n\r\n');

      // The fix the reason names, as in the config.
      const ntripSeen = ntrip.requests.length;
      const wwwSeen = www.requests.length;
      monitor.apply(config(['type: http', 'method: HEAD', 'path: /', 'httpVersion: "1.1"', 'host: ntrip.surveyor.lab', 'headers: { User-Agent: fulcrum-health }']));
      await waitFor(
        () => [ntrip.address, www.address].every((server) => monitor.status()['ntrip-web']?.[server]?.lastCheck?.ok === true),
        2000,
        'passing checks',
      );
      for (const server of [ntrip.address, www.address]) {
        const up = monitor.status()['ntrip-web']?.[server];
        assert.equal(up?.up, true, server);
        assert.match(up?.reason ?? '', /^HTTP 200 in (<1|[0-9]+) ms$/);
      }
      assert.equal(ntrip.requests[ntripSeen]?.raw, 'HEAD / HTTP/1.1\r\nHost: ntrip.surveyor.lab\r\nUser-Agent: fulcrum-health\r\nConnection: close\r\n\r\n');
      // The per-server override: this one is asked for its own site.
      assert.equal(www.requests[wwwSeen]?.headers.get('host'), 'www.surveyor.lab');
      assert.deepEqual(
        changes.filter((c) => c.up).map((c) => c.server).sort(),
        [ntrip.address, www.address].sort(),
      );
    } finally {
      monitor.stop();
    }
  });

  it('with startAs: down, a server that never passes never gets traffic, and the first pass logs UP', async () => {
    const logger = recordingLogger();
    const monitor = new HealthMonitor({ logger });
    try {
      monitor.apply(config(['httpVersion: "1.1"', 'host: ntrip.surveyor.lab', 'startAs: down']));
      assert.equal(monitor.status()['ntrip-web']?.[ntrip.address]?.up, false);
      await waitFor(() => logger.entries.some((e) => e.message.startsWith(`real server ${ntrip.address} in "ntrip-web" is UP: HTTP 200`)), 2000);
      // www.surveyor.lab is overridden per server, so it passes too.
      await waitFor(() => monitor.status()['ntrip-web']?.[www.address]?.up === true, 2000);
    } finally {
      monitor.stop();
    }
  });
});
