import type { FieldTable } from './fields.ts';
import { HeaderKind } from './header-kind.ts';
import { dropConnectionNominated, type RequestHead } from './request-head.ts';
import type { ResponseHead } from './response-head.ts';

/** How a virtual service tells real servers who the client is (config: forwardedHeaders). */
export interface ForwardingPolicy {
  readonly xForwardedFor: 'append' | 'replace' | 'off';
  readonly xForwardedProto: boolean;
  readonly xForwardedHost: boolean;
  readonly forwarded: boolean;
  /** "http" until TLS offload exists. */
  readonly proto: string;
}

const CRLF = '\r\n';
const HTTP11_CRLF = 'HTTP/1.1\r\n';

/**
 * Write the head we send to the real server: the client's head minus hop-by-hop fields, plus the
 * forwarding fields, into a new buffer with `extra` spare bytes at the end for the first body
 * bytes (so head and body leave in one write). Returns the buffer and the head's length.
 */
export function writeUpstreamRequestHead(
  req: RequestHead,
  fields: FieldTable,
  clientIp: string,
  policy: ForwardingPolicy,
  extra: number,
): { buf: Buffer; headLength: number } {
  const src = req.buf;
  const keepXff = policy.xForwardedFor === 'off';
  // Collect additions as one latin1 string: typically only X-Forwarded-For and -Proto.
  let additions = '';
  let existingXff = '';
  let existingForwarded = '';
  for (let i = 0; i < fields.count; i++) {
    const k = fields.kind[i];
    if (k === HeaderKind.X_FORWARDED_FOR && !keepXff) {
      fields.drop[i] = 1;
      if (policy.xForwardedFor === 'append') {
        const v = src.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
        existingXff = existingXff === '' ? v : `${existingXff}, ${v}`;
      }
    } else if (k === HeaderKind.X_FORWARDED_PROTO && policy.xForwardedProto) {
      fields.drop[i] = 1;
    } else if (k === HeaderKind.X_FORWARDED_HOST && policy.xForwardedHost) {
      fields.drop[i] = 1;
    } else if (k === HeaderKind.FORWARDED && policy.forwarded) {
      fields.drop[i] = 1;
      const v = src.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
      existingForwarded = existingForwarded === '' ? v : `${existingForwarded}, ${v}`;
    }
  }
  if (!keepXff) {
    additions += existingXff === '' ? `X-Forwarded-For: ${clientIp}\r\n` : `X-Forwarded-For: ${existingXff}, ${clientIp}\r\n`;
  }
  if (policy.xForwardedProto) additions += `X-Forwarded-Proto: ${policy.proto}\r\n`;
  const hostField = req.hostField;
  const host = hostField >= 0 ? src.toString('latin1', fields.valueStart[hostField]!, fields.valueEnd[hostField]!) : '';
  if (policy.xForwardedHost && hostField >= 0) additions += `X-Forwarded-Host: ${host}\r\n`;
  if (policy.forwarded) {
    const element = forwardedElement(clientIp, host, policy.proto);
    additions += `Forwarded: ${existingForwarded === '' ? element : `${existingForwarded}, ${element}`}\r\n`;
  }
  if (req.isUpgrade) additions += 'Connection: upgrade\r\n';

  // An HTTP/1.0 request with a Host goes out as HTTP/1.1 so the upstream connection can be
  // pooled; without a Host it would be invalid as 1.1, so it goes out unchanged.
  const upgradeVersion = req.http10 && hostField >= 0;
  const lineEnd = upgradeVersion ? req.requestLineEnd - 8 : req.requestLineEnd + 2;
  let size = lineEnd - req.start + (upgradeVersion ? HTTP11_CRLF.length : 0) + additions.length + 2;
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 0) size += fields.lineEnd[i]! + 2 - fields.lineStart[i]!;
  }
  const out = Buffer.allocUnsafe(size + extra);
  let o = src.copy(out, 0, req.start, lineEnd);
  if (upgradeVersion) o += out.write(HTTP11_CRLF, o, 'latin1');
  o = copyKeptFields(src, fields, out, o);
  if (additions.length > 0) o += out.write(additions, o, 'latin1');
  o += out.write(CRLF, o, 'latin1');
  return { buf: out, headLength: o };
}

/**
 * The head we send to the client: the real server's head minus hop-by-hop fields, with our own
 * Connection field. `dechunk` drops Transfer-Encoding (we decode for an HTTP/1.0 client).
 * `addFields` holds whole field lines to add, CRLF included (persistence's Set-Cookie), or ''.
 */
export function writeClientResponseHead(
  src: Buffer,
  from: number,
  res: ResponseHead,
  fields: FieldTable,
  connection: 'close' | 'keep-alive' | 'upgrade' | '',
  dechunk: boolean,
  extra: number,
  addFields = '',
): { buf: Buffer; headLength: number } {
  if (dechunk && res.transferEncodingField >= 0) fields.drop[res.transferEncodingField] = 1;
  // RFC 9110 §7.6.1 applies both ways: fields the real server names in Connection are for us only.
  if (res.extraConnectionTokens) dropConnectionNominated(src, fields);
  if (connection === 'upgrade') {
    for (let i = 0; i < fields.count; i++) if (fields.kind[i] === HeaderKind.UPGRADE) fields.drop[i] = 0;
  }
  const additions = connection === '' ? addFields : `${addFields}Connection: ${connection}\r\n`;
  // Always answer as HTTP/1.1: the status line's version is ours, not the real server's.
  const statusRestStart = from + 8;
  let size = 8 + (res.statusLineEnd + 2 - statusRestStart) + additions.length + 2;
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 0) size += fields.lineEnd[i]! + 2 - fields.lineStart[i]!;
  }
  const out = Buffer.allocUnsafe(size + extra);
  let o = out.write('HTTP/1.1', 0, 'latin1');
  o += src.copy(out, o, statusRestStart, res.statusLineEnd + 2);
  o = copyKeptFields(src, fields, out, o);
  if (additions.length > 0) o += out.write(additions, o, 'latin1');
  o += out.write(CRLF, o, 'latin1');
  return { buf: out, headLength: o };
}

/** Copy the field lines not marked drop, coalescing adjacent kept lines into one copy. */
function copyKeptFields(src: Buffer, fields: FieldTable, out: Buffer, o: number): number {
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 1) continue;
    const ls = fields.lineStart[i]!;
    if (ls !== runEnd) {
      if (runStart >= 0) o += src.copy(out, o, runStart, runEnd);
      runStart = ls;
    }
    runEnd = fields.lineEnd[i]! + 2;
  }
  if (runStart >= 0) o += src.copy(out, o, runStart, runEnd);
  return o;
}

/** RFC 7239 §4: an IPv6 address and anything with a colon are quoted. */
function forwardedElement(clientIp: string, host: string, proto: string): string {
  const forValue = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp;
  let element = `for=${forValue}`;
  if (host !== '') element += `;host=${needsQuote(host) ? `"${host.replace(/["\\]/g, '\\$&')}"` : host}`;
  return `${element};proto=${proto}`;
}

function needsQuote(value: string): boolean {
  return !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value);
}
