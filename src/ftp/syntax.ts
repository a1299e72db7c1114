/**
 * The few pieces of FTP syntax Fulcrum reads and writes on the control connection: the passive
 * replies (227 PASV, RFC 959; 229 EPSV, RFC 2428), the active commands (PORT; EPRT, RFC 2428) and
 * the command verb. Everything else passes through as the client and server wrote it.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { normaliseAddress } from '../ip/client-address.ts';

/** Where a passive reply names its port: [start, end) of the text to replace, and the port announced. */
export interface PassiveReply {
  start: number;
  end: number;
  port: number;
}

export interface DataAddress {
  host: string;
  port: number;
}

// RFC 1123 4.1.2.6: the reply's text is free, so scan for the six numbers rather than require "(...)".
const PASV_TUPLE = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/;
// RFC 2428: "(<d><d><d>port<d>)", the delimiter any printable character (| in practice).
const EPSV_PORT = /\(([!-~])\1\1(\d{1,5})\1\)/;
const VERB = /^[A-Za-z]{1,8}(?: |$)/;
// Telnet "interrupt process" and "synch" (IAC IP, IAC DM) that some clients send before ABOR (RFC 959
// 4.1.3). DM travels as TCP urgent data, which the socket drops from the stream, so what arrives
// may be IAC IP IAC then ABOR: skip any bytes of 0x80 and up before the verb.
const TELNET_PREFIX = /^[\x80-\xff]+/;

/** The six numbers of a 227 reply; the announced host is ignored (Fulcrum connects to the real server's own address). */
export function parsePasvReply(line: string): PassiveReply | null {
  const m = PASV_TUPLE.exec(line);
  if (m === null) return null;
  for (let i = 1; i <= 6; i++) if (Number(m[i]) > 255) return null;
  const port = Number(m[5]) * 256 + Number(m[6]);
  if (port === 0) return null;
  return { start: m.index, end: m.index + m[0].length, port };
}

/** The port of a 229 reply, and where its digits are. */
export function parseEpsvReply(line: string): PassiveReply | null {
  const m = EPSV_PORT.exec(line);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port === 0 || port > 65_535) return null;
  const start = m.index + 4;
  return { start, end: start + m[2]!.length, port };
}

/** "h1,h2,h3,h4,p1,p2" for an IPv4 address and a port. */
export function pasvTuple(ipv4: string, port: number): string {
  return `${ipv4.replaceAll('.', ',')},${port >> 8},${port & 255}`;
}

/** PORT's argument "h1,h2,h3,h4,p1,p2"; null when malformed. */
export function parsePortArgument(arg: string): DataAddress | null {
  const parts = arg.trim().split(',');
  if (parts.length !== 6) return null;
  const numbers: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    numbers.push(n);
  }
  const port = numbers[4]! * 256 + numbers[5]!;
  if (port === 0) return null;
  return { host: numbers.slice(0, 4).join('.'), port };
}

/** EPRT's argument "<d>1<d>ipv4<d>port<d>" or "<d>2<d>ipv6<d>port<d>"; null when malformed. */
export function parseEprtArgument(arg: string): DataAddress | null {
  const text = arg.trim();
  if (text.length < 7) return null;
  const parts = text.split(text[0]!);
  if (parts.length !== 5 || parts[0] !== '' || parts[4] !== '') return null;
  const [, family, host, portText] = parts as [string, string, string, string, string];
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port === 0 || port > 65_535) return null;
  if (family === '1' && isIPv4(host)) return { host, port };
  if (family === '2' && isIPv6(host)) return { host, port };
  return null;
}

/** The command that tells a real server where to connect for active mode, in the form its address family needs. */
export function activeCommand(host: string, port: number): string {
  const ipv4 = normaliseAddress(host);
  return isIPv4(ipv4) ? `PORT ${pasvTuple(ipv4, port)}\r\n` : `EPRT |2|${host}|${port}|\r\n`;
}

/**
 * The command verb in upper case ("" for an empty line), or null when the line is not an FTP
 * command at all (binary data, a TLS handshake sent to a plain port, a NUL byte).
 */
export function commandVerb(line: string): string | null {
  if (line.includes('\0')) return null;
  const text = line.charCodeAt(0) >= 0x80 ? line.replace(TELNET_PREFIX, '') : line;
  if (text.length === 0) return '';
  const m = VERB.exec(text);
  return m === null ? null : m[0].trimEnd().toUpperCase();
}

/** The argument after the verb ("" when none). */
export function commandArgument(line: string): string {
  const space = line.indexOf(' ');
  return space === -1 ? '' : line.slice(space + 1);
}

/** The three-digit reply code at the start of a line, or 0 when the line does not start with one. */
export function replyCode(line: string): number {
  if (line.length < 3) return 0;
  const a = line.charCodeAt(0) - 48;
  const b = line.charCodeAt(1) - 48;
  const c = line.charCodeAt(2) - 48;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return 0;
  return a * 100 + b * 10 + c;
}
