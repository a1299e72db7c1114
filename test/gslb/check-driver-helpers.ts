/**
 * For the check driver tests: configs from a few YAML lines, a logger that keeps its lines,
 * listeners that can go away and come back on the same port, and waits on the driver's events.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { formatProblems } from '../../src/config/format.ts';
import type { GslbConfig } from '../../src/config/gslb.ts';
import { loadConfigText } from '../../src/config/load.ts';
import type { GslbChange, GslbCheckDriver } from '../../src/gslb/check-driver.ts';
import type { SiteEvent } from '../../src/gslb/site-state.ts';

/** A gslb section with zone example.test and these FQDN entries (YAML lines, indented as list items under fqdns). */
export function gslbConfig(fqdnLines: string[]): GslbConfig {
  const text = [
    'gslb:',
    '  listen: [127.0.0.1:5353]',
    '  zones:',
    '    - { name: example.test, nameServers: [ns1.example.net], hostmaster: hostmaster@example.test }',
    '  fqdns:',
    ...fqdnLines.map((line) => `    ${line}`),
  ].join('\n');
  const result = loadConfigText(text, 'gslb.yaml');
  assert.ok(result.ok, result.ok ? '' : formatProblems(result.problems));
  assert.ok(result.config.gslb !== undefined);
  return result.config.gslb;
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

export function recordingLogger(): { lines: LogLine[]; info: (f: object, m: string) => void; warn: (f: object, m: string) => void; error: (f: object, m: string) => void } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
}

/** The next `change` of `fqdn` whose state answers `address` first for A; rejects after `ms`. */
export async function answerBecomes(driver: GslbCheckDriver, fqdn: string, address: string, ms = 5000): Promise<GslbChange> {
  const current = driver.state(fqdn);
  assert.ok(current !== undefined);
  const signal = AbortSignal.timeout(ms);
  for (;;) {
    const [change] = (await once(driver, 'change', { signal })) as [GslbChange];
    if (change.fqdn === fqdn && change.state.selector.select(4, null).addresses[0] === address) return change;
  }
}

/** The next site event matching `kind` for `site`. */
export async function siteEvent(driver: GslbCheckDriver, site: string, kind: SiteEvent['kind'], ms = 5000): Promise<SiteEvent> {
  const signal = AbortSignal.timeout(ms);
  for (;;) {
    const [event] = (await once(driver, 'site', { signal })) as [SiteEvent];
    if (event.site === site && event.kind === kind) return event;
  }
}

/** For states no event announces (a reason that changes without a state change): poll each 10 ms, fail after `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!predicate()) {
    assert.ok(performance.now() < end, `not reached within ${ms} ms: ${predicate.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function firstA(driver: GslbCheckDriver, fqdn: string): string | undefined {
  return driver.state(fqdn)?.selector.select(4, null).addresses[0];
}

/** A TCP listener that can stop listening and listen again on the same port. */
export class Flappy {
  #server: Server = createServer();
  readonly sockets = new Set<Socket>();
  port = 0;
  accepted = 0;

  async listen(): Promise<void> {
    this.#server = createServer((socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      socket.end();
    });
    this.#server.listen(this.port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.#server.listening) return;
    this.#server.close();
    await once(this.#server, 'close');
  }
}

export interface StatusServer {
  server: HttpServer;
  address: string;
  /** What GET /api/v1/status answers now. */
  doc: unknown;
  requests: number;
  close(): Promise<void>;
}

/** A stand-in for another Fulcrum node's admin API. */
export async function startStatusServer(doc: unknown): Promise<StatusServer> {
  const server = createHttpServer();
  const result: StatusServer = {
    server,
    address: '',
    doc,
    requests: 0,
    close: async () => {
      if (!server.listening) return;
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  server.on('request', (req, res) => {
    result.requests++;
    if (req.url !== '/api/v1/status') {
      res.writeHead(404).end('{}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result.doc));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  result.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return result;
}

/** A StatusDocument-shaped answer: one virtual service with `up` healthy and `down` failing enabled real servers. */
export function statusDoc(name: string, up: number, down: number, clientConnections = 0, extra: { state: string; up: boolean }[] = []): unknown {
  const servers = [...Array.from({ length: up }, () => ({ state: 'enabled', up: true })), ...Array.from({ length: down }, () => ({ state: 'enabled', up: false })), ...extra];
  return {
    virtualServices: [
      {
        name,
        listen: '0.0.0.0:2101',
        protocol: 'tcp',
        scheduler: 'round-robin',
        clientConnections,
        realServers: servers.map((s, i) => ({
          address: `10.0.0.${i + 1}:2101`,
          state: s.state,
          weight: 1,
          effectiveWeight: s.up && s.state === 'enabled' ? 1 : 0,
          health: { up: s.up, reason: s.up ? 'connected' : 'connection refused', since: new Date(0).toISOString(), check: 'tcp', lastCheck: null, checks: { passed: 0, failed: 0 } },
          ejected: false,
          activeRequests: 0,
          idleConnections: 0,
          requests: 0,
        })),
      },
    ],
    workers: [1],
    workersNotAnswering: [],
    generation: 1,
  };
}
