/**
 * How each engine asks its pool for a real server, as the engines write it (http1-forwarder and
 * exchange.ts; tcp-listener and tcp-connection.ts; udp-listener.ts; ftp-listener and
 * session.ts): the PickRequest it hands over and the persistence keys it reads first. HTTP reads
 * its keys from a real request head and answers with a real response head, so cookies go round
 * as they do on the wire. One function per protocol, same signature, so a test can run one
 * script through every front end and compare.
 */
import assert from 'node:assert/strict';
import { FieldTable } from '../../src/http/fields.ts';
import { ParseError } from '../../src/http/parse-error.ts';
import { RequestHead, parseRequestHead } from '../../src/http/request-head.ts';
import { ResponseHead, parseResponseHead } from '../../src/http/response-head.ts';
import { PersistSlot } from '../../src/persistence/persistence.ts';
import type { FrontEndProtocol } from '../../src/pool/needs.ts';
import type { Pool } from '../../src/pool/pool.ts';
import type { RealServer } from '../../src/pool/real-server.ts';
import { FULL, type PickResult } from '../../src/pool/types.ts';

/** A client as the pick path sees it: its address, and what it sends (HTTP request keys, an RDP user name). */
export class Client {
  readonly address: string;
  readonly n: number;
  /** Cookies the responses set (name → value), sent back on the next request. */
  readonly cookies = new Map<string, string>();

  constructor(n: number, address = `192.0.2.${n % 250}`) {
    this.n = n;
    this.address = address;
  }

  /** The request an HTTP client sends: its own path, query item and header, and its cookies. */
  request(): string {
    const cookie = this.cookies.size === 0 ? '' : `Cookie: ${[...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}\r\n`;
    return `GET /c/${this.n}?sid=${this.n} HTTP/1.1\r\nHost: site.test\r\nX-Session: s-${this.n}\r\n${cookie}\r\n`;
  }
}

export type Ask = (pool: Pool, client: Client, exclude: readonly RealServer[] | null, now: number) => PickResult;

const LIMITS = { maxHeaderBytes: 16_384, maxHeaders: 64, maxUriBytes: 8_192 };

function parsedRequest(text: string): { head: RequestHead; fields: FieldTable } {
  const buf = Buffer.from(text, 'latin1');
  const head = new RequestHead();
  const fields = new FieldTable(64);
  assert.equal(parseRequestHead(buf, 0, buf.indexOf('\r\n\r\n') + 2, head, fields, LIMITS), ParseError.NONE, text);
  return { head, fields };
}

/** What a real server answers: an application that sets its session cookie on a client's first visit. */
function response(server: RealServer, client: Client): { buf: Buffer; fields: FieldTable } {
  const session = client.cookies.has('JSESSIONID') ? '' : `Set-Cookie: JSESSIONID=${server.id}-${client.n}; Path=/\r\n`;
  const buf = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\n${session}\r\n`, 'latin1');
  const fields = new FieldTable(64);
  assert.equal(parseResponseHead(buf, 0, buf.indexOf('\r\n\r\n') + 2, new ResponseHead(), fields, 64, false), ParseError.NONE);
  if (session !== '') client.cookies.set('JSESSIONID', `${server.id}-${client.n}`);
  return { buf, fields };
}

/** Keep what a Set-Cookie line Fulcrum adds to the response says (an active cookie). */
function keepCookie(client: Client, line: string): void {
  const m = /^Set-Cookie: ([^=]+)=([^;]*)/.exec(line);
  if (m !== null) client.cookies.set(m[1]!, m[2]!);
}

/** HTTP: the exchange reads its keys from the head once routed (exchange.ts #dispatch), the forwarder picks, the response may set a cookie. */
const httpAsk: Ask = (pool, client, exclude, now) => {
  const connection = new PersistSlot(client.address);
  let keys: PersistSlot | null = null;
  if (pool.persistence !== null) {
    const { head, fields } = parsedRequest(client.request());
    keys = new PersistSlot(client.address);
    pool.readKeys(connection, keys, head, fields);
  }
  const picked = pool.pick({ clientAddress: client.address, exclude, clientKeys: connection, keys }, now);
  if (keys !== null && picked !== null && picked !== FULL) {
    const { buf, fields } = response(picked, client);
    keepCookie(client, pool.respond(keys, buf, fields, picked, now));
  }
  return picked;
};

/** TCP: the connection's slot, keyed by what its first bytes carried (an RDP user name), read at admission. */
const tcpAsk: Ask = (pool, client, exclude, now) => {
  const slot = new PersistSlot(client.address);
  slot.connectionKey = `user-${client.n}`;
  pool.persistence?.readConnection(slot);
  return pool.pick({ clientAddress: client.address, exclude, clientKeys: slot, keys: slot }, now);
};

/** UDP: a new session's pick request; no keys at all without persistence. */
const udpAsk: Ask = (pool, client, exclude, now) => {
  if (pool.persistence === null) return pool.pick({ clientAddress: client.address, exclude, clientKeys: null, keys: null }, now);
  const slot = new PersistSlot(client.address);
  pool.persistence.readConnection(slot);
  return pool.pick({ clientAddress: client.address, exclude, clientKeys: slot, keys: slot }, now);
};

/** FTP: the control session's slot (null without persistence), read when it picks. */
const ftpAsk: Ask = (pool, client, exclude, now) => {
  const slot = pool.persistence === null ? null : new PersistSlot(client.address);
  if (slot !== null) pool.persistence!.readConnection(slot);
  return pool.pick({ clientAddress: client.address, exclude, clientKeys: slot, keys: slot }, now);
};

export const ASKS: Readonly<Record<FrontEndProtocol, Ask>> = { http: httpAsk, https: httpAsk, tcp: tcpAsk, udp: udpAsk, ftp: ftpAsk };
