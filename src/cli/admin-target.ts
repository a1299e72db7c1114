/**
 * Which admin API the CLI talks to and as whom: the URL comes from --admin, else from the config
 * file's admin.listen (https when the file has admin.tls); there is no default file, because a
 * command that changes traffic should not guess which load balancer it talks to. The token comes
 * from token-source.ts; a private CA for an https admin listener from --ca FILE or FULCRUM_CA.
 *
 * Reading admin.listen takes no config schema: validating the whole file would cost `fulcrum
 * status` a third of a second (zod, the schema, certificate parsing) to learn one address, and
 * status should still work while the file has problems. admin-listen.ts reads the usual shapes
 * itself; the YAML parser reads the rest.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { formatAddress, parseHostPort, type HostPort } from '../config/address.ts';
import { scanAdminSection } from './admin-listen.ts';
import type { GlobalOptions } from './arguments.ts';
import { EXIT_FAILED, type CommandResult } from './command.ts';
import { resolveToken, tokenFilePath, type TokenSource } from './token-source.ts';

export interface AdminConnection {
  url: URL;
  token: TokenSource;
  /** PEM text of the CA that signed an https admin listener's certificate; undefined: the usual roots. */
  ca: string | undefined;
  /** Where the token file would be, "~/.config/fulcrum/token", for the message of a 401. */
  tokenFile: string;
}

export type AdminTarget = { ok: true; url: URL } | { ok: false; usage: boolean; message: string };

export interface Environment {
  env: Readonly<Record<string, string | undefined>>;
  home: string;
}

/**
 * The connection for `command`, or the exit code (or usage error) the command ends with; a token
 * file that others can read is warned about here, once.
 */
export async function connectAdmin(command: string, global: GlobalOptions, environment: Environment = { env: process.env, home: homedir() }): Promise<{ ok: true; connection: AdminConnection } | { ok: false; result: CommandResult }> {
  const target = await resolveAdminUrl(command, global.admin, global.config);
  if (!target.ok) return { ok: false, result: target.usage ? { usage: target.message } : failed(target.message) };
  const caFile = global.ca ?? (environment.env['FULCRUM_CA'] || undefined);
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (error) {
      const origin = global.ca !== undefined ? '--ca' : 'FULCRUM_CA';
      return { ok: false, result: failed(`cannot read the CA file ${caFile} (${origin}): ${(error as NodeJS.ErrnoException).code ?? String(error)}`) };
    }
  }
  const token = resolveToken({ flag: global.token, env: environment.env, home: environment.home });
  if (token.warning !== undefined) process.stderr.write(`fulcrum: warning: ${token.warning}\n`);
  const file = tokenFilePath(environment.env, environment.home);
  const tokenFile = file.startsWith(`${environment.home}/`) ? `~${file.slice(environment.home.length)}` : file;
  return { ok: true, connection: { url: target.url, token, ca, tokenFile } };
}

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
  const scheme = listen.tls ? 'https' : 'http';
  return { ok: true, url: new URL(`${scheme}://${formatAddress(reachable(listen.value))}/`) };
}

function fromFlag(text: string): AdminTarget {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return { ok: true, url };
  } catch {
    return { ok: false, usage: true, message: `--admin ${JSON.stringify(text)} is not a URL or host:port; e.g. --admin 127.0.0.1:9090 or --admin https://lb1.example.com:9443` };
  }
}

type ListenOf = { ok: true; value: HostPort | undefined; tls: boolean } | { ok: false; message: string };

/** admin.listen and whether admin.tls is set, from the file's YAML (or JSON, which YAML reads too). */
async function adminListenOf(configPath: string): Promise<ListenOf> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    return { ok: false, message: `cannot read ${configPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  let raw: unknown;
  let tls: boolean;
  const scanned = scanAdminSection(text);
  if (scanned !== undefined) {
    ({ listen: raw, tls } = scanned);
  } else {
    const { parseDocument } = await import('yaml');
    const doc = parseDocument(text);
    raw = doc.getIn(['admin', 'listen']);
    // A file that does not parse may well have admin.listen in the part we could not read.
    if ((raw === undefined || raw === null) && doc.errors.length > 0) {
      return { ok: false, message: `${configPath} does not parse (${doc.errors[0]!.message.split('\n')[0]}); fix it (fulcrum check -c ${configPath}) or pass --admin URL` };
    }
    const tlsValue: unknown = doc.getIn(['admin', 'tls']);
    tls = tlsValue !== undefined && tlsValue !== null;
  }
  if (raw === undefined || raw === null) return { ok: true, value: undefined, tls: false };
  const parsed = typeof raw === 'string' ? parseHostPort(raw, { wildcard: true }) : null;
  if (parsed === null || !parsed.ok) return { ok: false, message: `${configPath}: admin.listen ${JSON.stringify(raw)} is not host:port` };
  return { ok: true, value: parsed.value, tls };
}

/** A wildcard listen address is reached on loopback. */
function reachable(address: HostPort): HostPort {
  if (address.host === '0.0.0.0') return { host: '127.0.0.1', port: address.port };
  if (address.host === '::') return { host: '::1', port: address.port };
  return address;
}

function failed(message: string): number {
  process.stderr.write(`fulcrum: ${message}\n`);
  return EXIT_FAILED;
}
