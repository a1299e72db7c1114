/**
 * fulcrum site checks: GET /api/v1/status from another Fulcrum node's admin API (the LoadMaster's
 * "remote LM" idea). The site is up while the named virtual service there has at least `minUp`
 * real servers that are healthy and enabled (a draining or disabled server takes no new clients,
 * so it does not count).
 *
 * The load it reports, for `selection: real-server-load`: client connections per counted real
 * server of that virtual service. Per server, so that a site with twice the servers may carry
 * twice the clients at the same load; client connections rather than requests in flight, because
 * every protocol counts them (an NTRIP caster's long-lived TCP streams have no requests). Lower is
 * better; null when nothing counts (the site is down then anyway) or the node's count is not a
 * number (a load of 0 would win every choice).
 *
 * A target given by host name is resolved first and the request goes to the address with
 * `Host: <address>:<port>`: the admin API answers only requests addressed to an IP address (its
 * guard against DNS rebinding, src/admin/api.ts), so `Host: name:port` would always get a 421.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { type ClientRequest, request } from 'node:http';
import { isIP } from 'node:net';
import { formatAddress, type HostPort } from '../config/address.ts';
import { suggest } from '../config/suggest.ts';
import type { RealServerStatus, StatusDocument, VirtualServiceStatus } from '../admin/types.ts';
import { formatLatency } from '../health/reason.ts';
import type { ProbeResult } from '../health/types.ts';

export const FULCRUM_STATUS_PATH = '/api/v1/status';

/** A status document of a thousand real servers is a few hundred KiB; more is not one. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface FulcrumCheck {
  virtualService: string;
  minUp: number;
}

export interface FulcrumProbeResult extends ProbeResult {
  /** See the module comment; null when the node was not read or nothing counts. */
  load: number | null;
}

/** node:dns/promises lookup's shape (one address); tests substitute their own names. */
export type FulcrumLookup = (hostname: string) => Promise<{ address: string; family: number }>;

export interface FulcrumProbeOptions {
  lookup?: FulcrumLookup;
}

export function probeFulcrum(target: HostPort, check: FulcrumCheck, timeoutMs: number, signal?: AbortSignal, options: FulcrumProbeOptions = {}): Promise<FulcrumProbeResult> {
  const node = formatAddress(target);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | null = null;
    const finish = (ok: boolean, reason: string, load: number | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req?.destroy();
      resolve({ ok, latencyMs: performance.now() - started, reason, load, detail: { target: node, request: `GET ${FULCRUM_STATUS_PATH}` } });
    };
    const onAbort = (): void => finish(false, 'check stopped');
    const send = (address: string): void => {
      if (settled) return;
      req = request({
        host: address,
        port: target.port,
        path: FULCRUM_STATUS_PATH,
        method: 'GET',
        // agent: false: one connection per check, closed after it; nothing lingers between checks.
        agent: false,
        headers: { accept: 'application/json', host: formatAddress({ host: address, port: target.port }) },
      });
      readStatus(req, node, check, started, finish);
    };
    // The timeout covers the lookup too: a resolver that does not answer is a node not reached.
    const timer = setTimeout(() => finish(false, `fulcrum node ${node}: no answer from its admin API within ${timeoutMs} ms`), timeoutMs);
    if (signal?.aborted === true) queueMicrotask(onAbort);
    else signal?.addEventListener('abort', onAbort, { once: true });
    if (isIP(target.host) !== 0) send(target.host);
    else (options.lookup ?? dnsLookup)(target.host).then(({ address }) => send(address), (error: NodeJS.ErrnoException) => finish(false, lookupWords(node, target.host, error)));
  });
}

type Finish = (ok: boolean, reason: string, load?: number | null) => void;

/** Send the request and judge the answer; every outcome ends in `finish`. */
function readStatus(req: ClientRequest, node: string, check: FulcrumCheck, started: number, finish: Finish): void {
  req.on('error', (error: NodeJS.ErrnoException) => finish(false, connectionWords(node, error)));
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      res.resume();
      return finish(false, `fulcrum node ${node}: GET ${FULCRUM_STATUS_PATH} answered HTTP ${res.statusCode}; is ${node} its admin.listen?`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return finish(false, `fulcrum node ${node}: the status document is larger than ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    });
    res.on('error', (error: NodeJS.ErrnoException) => finish(false, connectionWords(node, error)));
    res.on('end', () => {
      const verdict = judge(node, Buffer.concat(chunks).toString('utf8'), check);
      const latency = formatLatency(performance.now() - started);
      finish(verdict.ok, `${verdict.reason}, read in ${latency}`, verdict.load);
    });
  });
  req.end();
}

interface Verdict {
  ok: boolean;
  reason: string;
  load: number | null;
}

/** Up or down from the status document's text; exported for tests of the counting rules. */
export function judge(node: string, text: string, check: FulcrumCheck): Verdict {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: `fulcrum node ${node}: ${FULCRUM_STATUS_PATH} did not answer JSON; is ${node} a Fulcrum admin API?`, load: null };
  }
  const services = (doc as Partial<StatusDocument> | null)?.virtualServices;
  if (!Array.isArray(services)) return { ok: false, reason: `fulcrum node ${node}: the status document has no virtualServices; is ${node} a Fulcrum admin API?`, load: null };
  const service = services.find((vs: VirtualServiceStatus) => vs?.name === check.virtualService);
  if (service === undefined) {
    const names = services.map((vs: VirtualServiceStatus) => String(vs?.name));
    const guess = suggest(check.virtualService, names);
    const hint = guess !== undefined ? `; did you mean "${guess}"?` : names.length === 0 ? '; it has none' : ` (it has ${names.join(', ')})`;
    return { ok: false, reason: `fulcrum node ${node}: no virtual service "${check.virtualService}"${hint}`, load: null };
  }
  const servers: RealServerStatus[] = Array.isArray(service.realServers) ? service.realServers : [];
  const counted = servers.filter(countsAsUp).length;
  const connections = service.clientConnections;
  // Not a count (a node of another version, a proxy in between): unknown, never the 0 that wins real-server-load.
  const countable = typeof connections === 'number' && Number.isFinite(connections) && connections >= 0;
  const load = counted === 0 || !countable ? null : connections / counted;
  const ok = counted >= check.minUp;
  const unknown = counted > 0 && !countable ? `; its clientConnections is ${JSON.stringify(connections) ?? 'missing'}, not a count, so its load is unknown` : '';
  const reason = `fulcrum node ${node}: virtual service ${check.virtualService} has ${counted} of ${servers.length} real servers up (minimum ${check.minUp})${unknown}`;
  return { ok, reason, load };
}

function countsAsUp(server: RealServerStatus): boolean {
  return server?.health?.up === true && (server.state ?? 'enabled') === 'enabled';
}

function lookupWords(node: string, host: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOTFOUND':
    case 'ENODATA':
      return `fulcrum node ${node}: the host name ${host} does not resolve to an address (${error.code}); check the name, or give the node's IP address`;
    case 'EAI_AGAIN':
      return `fulcrum node ${node}: the lookup of ${host} failed for now (EAI_AGAIN): the DNS resolver did not answer`;
  }
  return `fulcrum node ${node}: cannot look up ${host}: ${error.message}`;
}

function connectionWords(node: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `no admin API at ${node}: connection refused`;
    case 'ECONNRESET':
      return `fulcrum node ${node}: the admin API reset the connection`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `fulcrum node ${node}: no route to host`;
  }
  return `fulcrum node ${node}: ${error.message}`;
}
