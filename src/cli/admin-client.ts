/**
 * How the CLI finds and calls the admin API: the URL comes from --admin, else from the config
 * file's admin.listen (there is no default file: a command that changes traffic should not
 * guess which load balancer it talks to).
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseDocument } from 'yaml';
import { formatAddress, parseHostPort, type HostPort } from '../config/address.ts';
import { loadConfigFile } from '../config/load.ts';

export type AdminTarget = { ok: true; url: URL } | { ok: false; usage: boolean; message: string };

export async function resolveAdminUrl(command: string, admin: string | undefined, configPath: string | undefined): Promise<AdminTarget> {
  if (admin !== undefined && admin !== '') return fromFlag(admin);
  if (configPath === undefined || configPath === '') {
    return { ok: false, usage: true, message: `${command} needs the admin API's address: --admin URL (e.g. --admin 127.0.0.1:9090), or -c FILE with admin.listen set` };
  }
  const listen = await adminListenOf(configPath);
  if (!listen.ok) return { ok: false, usage: false, message: listen.message };
  if (listen.value === undefined) {
    return {
      ok: false,
      usage: true,
      message: `${configPath} has no admin.listen; add "admin: { listen: 127.0.0.1:9090 }" to it (and reload), or pass --admin URL`,
    };
  }
  return { ok: true, url: new URL(`http://${formatAddress(reachable(listen.value))}/`) };
}

function fromFlag(text: string): AdminTarget {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return { ok: true, url };
  } catch {
    return { ok: false, usage: true, message: `--admin ${JSON.stringify(text)} is not a URL or host:port; e.g. --admin 127.0.0.1:9090` };
  }
}

/** admin.listen from the file; from the raw YAML when the file has other problems (status still helps then). */
async function adminListenOf(configPath: string): Promise<{ ok: true; value: HostPort | undefined } | { ok: false; message: string }> {
  const loaded = await loadConfigFile(configPath);
  if (loaded.ok) return { ok: true, value: loaded.config.admin?.listen };
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch {
    return { ok: false, message: loaded.problems[0]?.message ?? `cannot read ${configPath}` };
  }
  const raw = parseDocument(text).getIn(['admin', 'listen']);
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  const parsed = typeof raw === 'string' ? parseHostPort(raw, { wildcard: true }) : null;
  if (parsed === null || !parsed.ok) return { ok: false, message: `${configPath}: admin.listen ${JSON.stringify(raw)} is not host:port` };
  return { ok: true, value: parsed.value };
}

/** A wildcard listen address is reached on loopback. */
function reachable(address: HostPort): HostPort {
  if (address.host === '0.0.0.0') return { host: '127.0.0.1', port: address.port };
  if (address.host === '::') return { host: '::1', port: address.port };
  return address;
}

export type AdminAnswer = { ok: true; status: number; body: unknown } | { ok: false; message: string; body?: unknown };

/** A PUT reloads the workers, which may wait for a slow one; 30 s is far beyond a healthy reload. */
const REQUEST_TIMEOUT_MS = 30_000;

export async function callAdmin(base: URL, method: 'GET' | 'PUT', path: string, body?: unknown): Promise<AdminAnswer> {
  const url = new URL(path, base);
  let response: { status: number; text: string };
  try {
    response = await request(url, method, body === undefined ? undefined : JSON.stringify(body));
  } catch (error) {
    return { ok: false, message: `cannot reach the admin API at ${base.origin}: ${networkReason(error)}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    return { ok: false, message: `the admin API at ${base.origin} answered ${response.status} with something that is not JSON` };
  }
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, body: parsed };
  const error = (parsed as { error?: { code?: string; message?: string; problems?: string[] } }).error;
  const lines = [`${error?.message ?? `HTTP ${response.status}`}${error?.code !== undefined ? ` (${error.code})` : ''}`];
  // The first problem is already in the message; list the others.
  for (const problem of (error?.problems ?? []).slice(1)) lines.push(`  ${problem}`);
  return { ok: false, message: lines.join('\n'), body: parsed };
}

/** node:http rather than fetch: fetch refuses "bad ports" (6000, 10080, ...) an admin may well choose. */
function request(url: URL, method: string, body: string | undefined): Promise<{ status: number; text: string }> {
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

function networkReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused; is fulcrum running with admin.listen set to this address?';
  if (code === 'ETIMEDOUT') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return error instanceof Error ? error.message : String(error);
}
