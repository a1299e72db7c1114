import { isCanonicalDecimal, type FieldTable } from './fields.ts';
import { HeaderKind } from './header-kind.ts';
import { dropConnectionNominated, originPrefix, type RequestHead } from './request-head.ts';
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
const SP_HTTP11_CRLF = ' HTTP/1.1\r\n';

/**
 * What content rules change in a request head on its way to the real server. The fields a rule
 * removed are marked drop in the FieldTable. The forwarding headers are then written from the
 * request as the rules left it: X-Forwarded-For and Forwarded append the client to the chain the
 * rules left (remove: a chain of the client alone; set: the rule's value, then the client), and a
 * rule that sets X-Forwarded-Proto or X-Forwarded-Host wins over the computed value (Fulcrum
 * behind a TLS offloader: `set: { X-Forwarded-Proto: https }`).
 */
export interface RequestEdits {
  /** A new request target (origin-form: path and query) instead of the client's; null: as sent. */
  readonly target: string | null;
  /** Fields to add, in order: [name as written, value]. */
  readonly added: ReadonlyArray<readonly [string, string]>;
}

/**
 * Write the head we send to the real server: the client's head minus hop-by-hop fields, plus the
 * forwarding fields, into a new buffer with `extra` spare bytes at the end for the first body
 * bytes (so head and body leave in one write). Returns the buffer and the head's length.
 *
 * What changes on the way, besides the fields:
 * - An absolute-form target goes out in origin-form ("http://a/x?q" as "/x?q", "http://a" as
 *   "/", and as "*" for OPTIONS, RFC 9112 §3.2.4), with `Host: <authority>` as the first field in place of the client's Host field
 *   (RFC 9112 §3.2.2: a proxy replaces Host with the target's authority), so the real server
 *   sees the host our rules saw.
 * - The version goes out as HTTP/1.1: from HTTP/1.2-1.9 (handled as 1.1, RFC 9110 §2.5), and from
 *   HTTP/1.0 when there is a host (so that the upstream connection can be pooled; without a host
 *   it would be invalid as 1.1, so it goes out unchanged).
 * - A Content-Length with leading zeros goes out as the canonical decimal, in place.
 */
export function writeUpstreamRequestHead(
  req: RequestHead,
  fields: FieldTable,
  clientIp: string,
  policy: ForwardingPolicy,
  extra: number,
  edits: RequestEdits | null = null,
): { buf: Buffer; headLength: number } {
  const src = req.buf;
  const keepXff = policy.xForwardedFor === 'off';
  // Collect additions as one latin1 string: typically only X-Forwarded-For and -Proto.
  let additions = '';
  let existingXff = '';
  let existingForwarded = '';
  // A rule's added forwarding fields join the chains (or stand for the computed value); the
  // others go out as lines, before ours.
  let ruleLines = '';
  let ruleProto = false;
  let ruleHost = false;
  let ruleSetsHost = false;
  if (edits !== null) {
    for (const [name, value] of edits.added) {
      const lower = name.toLowerCase();
      if (lower === 'x-forwarded-for' && !keepXff) {
        if (policy.xForwardedFor === 'append') existingXff = existingXff === '' ? value : `${existingXff}, ${value}`;
        continue;
      }
      if (lower === 'forwarded' && policy.forwarded) {
        existingForwarded = existingForwarded === '' ? value : `${existingForwarded}, ${value}`;
        continue;
      }
      if (lower === 'x-forwarded-proto') ruleProto = true;
      else if (lower === 'x-forwarded-host') ruleHost = true;
      else if (lower === 'host') ruleSetsHost = true;
      ruleLines += `${name}: ${value}\r\n`;
    }
  }
  // The client's chains come first: fields a rule removed (or the client's Connection nominated) are gone.
  let clientXff = '';
  let clientForwarded = '';
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 1) continue;
    const k = fields.kind[i];
    if (k === HeaderKind.X_FORWARDED_FOR && !keepXff) {
      fields.drop[i] = 1;
      if (policy.xForwardedFor === 'append') {
        const v = src.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
        clientXff = clientXff === '' ? v : `${clientXff}, ${v}`;
      }
    } else if (k === HeaderKind.X_FORWARDED_PROTO && policy.xForwardedProto) {
      fields.drop[i] = 1;
    } else if (k === HeaderKind.X_FORWARDED_HOST && policy.xForwardedHost) {
      fields.drop[i] = 1;
    } else if (k === HeaderKind.FORWARDED && policy.forwarded) {
      fields.drop[i] = 1;
      const v = src.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
      clientForwarded = clientForwarded === '' ? v : `${clientForwarded}, ${v}`;
    }
  }
  if (clientXff !== '') existingXff = existingXff === '' ? clientXff : `${clientXff}, ${existingXff}`;
  if (clientForwarded !== '') existingForwarded = existingForwarded === '' ? clientForwarded : `${clientForwarded}, ${existingForwarded}`;
  if (!keepXff) {
    additions += existingXff === '' ? `X-Forwarded-For: ${clientIp}\r\n` : `X-Forwarded-For: ${existingXff}, ${clientIp}\r\n`;
  }
  if (policy.xForwardedProto && !ruleProto) additions += `X-Forwarded-Proto: ${policy.proto}\r\n`;
  const hasHost = req.hostStart >= 0;
  const host = hasHost && (policy.xForwardedHost || policy.forwarded) ? src.toString('latin1', req.hostStart, req.hostEnd) : '';
  if (policy.xForwardedHost && hasHost && !ruleHost) additions += `X-Forwarded-Host: ${host}\r\n`;
  if (policy.forwarded) {
    const element = forwardedElement(clientIp, host, policy.proto);
    additions += `Forwarded: ${existingForwarded === '' ? element : `${existingForwarded}, ${element}`}\r\n`;
  }
  if (req.isUpgrade) additions += 'Connection: upgrade\r\n';
  additions = ruleLines + additions;

  // The rare rewrites allocate a string; the common request (origin-form, HTTP/1.1, canonical
  // Content-Length) makes none here.
  let hostLine = '';
  if (req.absoluteForm) {
    if (req.hostField >= 0) fields.drop[req.hostField] = 1;
    // A rule's set: { Host } is the one Host line then.
    if (!ruleSetsHost) hostLine = `Host: ${src.toString('latin1', req.hostStart, req.hostEnd)}\r\n`;
  }
  let lengthField = -1;
  let lengthLine = '';
  const cl = req.contentLengthField;
  if (cl >= 0 && !isCanonicalDecimal(src, fields.valueStart[cl]!, fields.valueEnd[cl]!)) {
    lengthField = cl;
    lengthLine = `Content-Length: ${req.contentLength}\r\n`;
  }
  const newTarget = edits === null ? null : edits.target;
  const rewriteVersion = (req.minorVersion !== 1 || newTarget !== null) && hasHost;
  const rewriteLine = rewriteVersion || req.absoluteForm || newTarget !== null;
  const prefix = originPrefix(req);

  let size = additions.length + hostLine.length + 2;
  if (newTarget !== null) {
    size += req.targetStart - req.start + newTarget.length;
    size += rewriteVersion ? SP_HTTP11_CRLF.length : req.requestLineEnd + 2 - req.targetEnd;
  } else if (rewriteLine) {
    size += req.targetStart - req.start + (prefix === 0 ? 0 : 1) + req.targetEnd - req.originStart;
    size += rewriteVersion ? SP_HTTP11_CRLF.length : req.requestLineEnd + 2 - req.targetEnd;
  } else {
    size += req.requestLineEnd + 2 - req.start;
  }
  for (let i = 0; i < fields.count; i++) {
    if (i === lengthField) size += lengthLine.length;
    else if (fields.drop[i] === 0) size += fields.lineEnd[i]! + 2 - fields.lineStart[i]!;
  }
  const out = Buffer.allocUnsafe(size + extra);
  let o: number;
  if (rewriteLine) {
    o = src.copy(out, 0, req.start, req.targetStart); // method SP
    if (newTarget !== null) {
      o += out.write(newTarget, o, 'latin1');
    } else {
      if (prefix !== 0) out[o++] = prefix;
      o += src.copy(out, o, req.originStart, req.targetEnd);
    }
    o += rewriteVersion ? out.write(SP_HTTP11_CRLF, o, 'latin1') : src.copy(out, o, req.targetEnd, req.requestLineEnd + 2);
  } else {
    o = src.copy(out, 0, req.start, req.requestLineEnd + 2);
  }
  if (hostLine.length > 0) o += out.write(hostLine, o, 'latin1');
  o = copyKeptFields(src, fields, out, o, lengthField, lengthLine);
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
  o = copyKeptFields(src, fields, out, o, -1, '');
  if (additions.length > 0) o += out.write(additions, o, 'latin1');
  o += out.write(CRLF, o, 'latin1');
  return { buf: out, headLength: o };
}

/**
 * Copy the field lines not marked drop, coalescing adjacent kept lines into one copy. The line
 * of field `replaced` (-1: none) is written as `replacement` instead.
 */
function copyKeptFields(src: Buffer, fields: FieldTable, out: Buffer, o: number, replaced: number, replacement: string): number {
  let runStart = -1;
  let runEnd = -1;
  for (let i = 0; i < fields.count; i++) {
    if (i === replaced) {
      if (runStart >= 0) o += src.copy(out, o, runStart, runEnd);
      runStart = -1;
      runEnd = -1;
      o += out.write(replacement, o, 'latin1');
      continue;
    }
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
