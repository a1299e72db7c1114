/**
 * The SNI name of a TLS ClientHello, read from the raw bytes before the handshake starts, so that
 * a front end can give the TLSSocket the right SecureContext from the start
 * (`new TLSSocket(socket, { secureContext: store.contextFor(name) })`) instead of switching in
 * an SNICallback.
 *
 * Why not the SNICallback: Node 24 applies the context it returns with SSL_use_certificate on
 * that context's current certificate only (src/crypto/crypto_tls.cc, UseSNIContext), so of an
 * RSA and an ECDSA certificate for one name, the SNICallback serves the one set last and clients
 * that cannot use it fail (measured: test/tls/certificate-store.test.ts). A context given at
 * creation keeps both, and OpenSSL picks by the client's signature algorithms.
 *
 * Wire format (RFC 8446 5.1, 4.1.2; RFC 6066 3): records of type 22 carry the handshake; the
 * ClientHello may span several records. Nothing is copied but the name (and, for
 * readClientHello, the ALPN protocol names: RFC 7301 3.1).
 */

export type ServerNameRead =
  /** More bytes are needed; call again with everything received so far. */
  | { state: 'incomplete' }
  /** A whole ClientHello: its host name (as sent, possibly mixed case), or null without SNI. */
  | { state: 'done'; servername: string | null }
  /** Not a TLS ClientHello (plain HTTP on a TLS port, garbage): let the TLS stack refuse it. */
  | { state: 'invalid' };

const RECORD_HEADER = 5;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_NAME_EXTENSION = 0;
const HOST_NAME = 0;
const ALPN_EXTENSION = 16;
const NO_ALPN: readonly string[] = Object.freeze([]);
/** RFC 8446 5.1: a record's fragment is at most 2^14 bytes; a ClientHello is at most 2^24. */
const MAX_FRAGMENT = 16_384;
/** Bigger ClientHellos exist only in tests of TLS stacks; 64 KiB holds any real one. */
export const MAX_CLIENT_HELLO = 65_536;

const INCOMPLETE = { state: 'incomplete' } as const;
const INVALID = { state: 'invalid' } as const;

export function readServerName(bytes: Buffer): ServerNameRead {
  const hello = clientHelloBody(bytes);
  if (!Buffer.isBuffer(hello)) return hello;
  const fields = helloFields(hello, false);
  return fields === undefined ? INVALID : { state: 'done', servername: fields.servername };
}

/** As readServerName, with the ALPN protocols the client offers (RFC 7301): for ACME's tls-alpn-01 (RFC 8737). */
export type ClientHelloRead = { state: 'incomplete' } | { state: 'invalid' } | { state: 'done'; servername: string | null; alpn: readonly string[] };

export function readClientHello(bytes: Buffer): ClientHelloRead {
  const hello = clientHelloBody(bytes);
  if (!Buffer.isBuffer(hello)) return hello;
  return helloFields(hello, true) ?? INVALID;
}

/** The first handshake message's body, gathered from as many records as it spans. */
function clientHelloBody(bytes: Buffer): Buffer | typeof INCOMPLETE | typeof INVALID {
  const fragments: Buffer[] = [];
  let gathered = 0;
  let needed = -1;
  for (let at = 0; ; ) {
    if (bytes.length < at + RECORD_HEADER) return INCOMPLETE;
    if (bytes[at] !== HANDSHAKE || bytes[at + 1] !== 3) return INVALID;
    const length = bytes.readUInt16BE(at + 3);
    if (length === 0 || length > MAX_FRAGMENT) return INVALID;
    if (bytes.length < at + RECORD_HEADER + length) return INCOMPLETE;
    fragments.push(bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
    gathered += length;
    at += RECORD_HEADER + length;
    if (needed === -1 && gathered >= 4) {
      const head = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
      if (head[0] !== CLIENT_HELLO) return INVALID;
      needed = 4 + head.readUIntBE(1, 3);
      if (needed > MAX_CLIENT_HELLO) return INVALID;
    }
    if (needed !== -1 && gathered >= needed) {
      const message = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
      return message.subarray(4, needed);
    }
  }
}

/**
 * The host_name in the server_name extension (null without one) and, when `withAlpn`, the ALPN
 * protocol names (empty without the extension); undefined when malformed.
 */
function helloFields(hello: Buffer, withAlpn: boolean): { state: 'done'; servername: string | null; alpn: readonly string[] } | undefined {
  // legacy_version (2), random (32), then session id, cipher suites, compression methods.
  let at = 34;
  if (hello.length < at + 1) return undefined;
  at += 1 + hello[at]!;
  if (hello.length < at + 2) return undefined;
  at += 2 + hello.readUInt16BE(at);
  if (hello.length < at + 1) return undefined;
  at += 1 + hello[at]!;
  if (hello.length === at) return { state: 'done', servername: null, alpn: NO_ALPN }; // no extensions at all (SSL 3.0-era clients)
  if (hello.length < at + 2) return undefined;
  const end = at + 2 + hello.readUInt16BE(at);
  if (end > hello.length) return undefined;
  let servername: string | null = null;
  let alpn: readonly string[] = NO_ALPN;
  let seen = 0;
  for (at += 2; at + 4 <= end; ) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return undefined;
    if (type === SERVER_NAME_EXTENSION) {
      const name = hostName(hello.subarray(at, at + length));
      if (name === undefined) return undefined;
      servername = name;
      if (!withAlpn || ++seen === 2) break;
    } else if (type === ALPN_EXTENSION && withAlpn) {
      const list = protocolNames(hello.subarray(at, at + length));
      if (list === undefined) return undefined;
      alpn = list;
      if (++seen === 2) break;
    }
    at += length;
  }
  return { state: 'done', servername, alpn };
}

/** RFC 7301 3.1: a 2-byte length, then protocol names of a 1-byte length each. */
function protocolNames(extension: Buffer): string[] | undefined {
  if (extension.length < 2) return undefined;
  const end = 2 + extension.readUInt16BE(0);
  if (end > extension.length) return undefined;
  const names: string[] = [];
  for (let at = 2; at < end; ) {
    const length = extension[at]!;
    at += 1;
    if (length === 0 || at + length > end) return undefined;
    names.push(extension.toString('latin1', at, at + length));
    at += length;
  }
  return names;
}

function hostName(extension: Buffer): string | null | undefined {
  if (extension.length < 2) return undefined;
  const end = Math.min(extension.length, 2 + extension.readUInt16BE(0));
  for (let at = 2; at + 3 <= end; ) {
    const type = extension[at]!;
    const length = extension.readUInt16BE(at + 1);
    at += 3;
    if (at + length > end) return undefined;
    if (type === HOST_NAME) return extension.toString('latin1', at, at + length);
    at += length;
  }
  return null;
}
