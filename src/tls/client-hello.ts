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
 * ClientHello may span several records. Nothing is copied but the name.
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
/** RFC 8446 5.1: a record's fragment is at most 2^14 bytes; a ClientHello is at most 2^24. */
const MAX_FRAGMENT = 16_384;
/** Bigger ClientHellos exist only in tests of TLS stacks; 64 KiB holds any real one. */
export const MAX_CLIENT_HELLO = 65_536;

const INCOMPLETE: ServerNameRead = { state: 'incomplete' };
const INVALID: ServerNameRead = { state: 'invalid' };

export function readServerName(bytes: Buffer): ServerNameRead {
  const hello = clientHelloBody(bytes);
  if (!Buffer.isBuffer(hello)) return hello;
  const servername = serverNameIn(hello);
  return servername === undefined ? INVALID : { state: 'done', servername };
}

/** The first handshake message's body, gathered from as many records as it spans. */
function clientHelloBody(bytes: Buffer): Buffer | ServerNameRead {
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

/** The host_name in the server_name extension; null without one; undefined when malformed. */
function serverNameIn(hello: Buffer): string | null | undefined {
  // legacy_version (2), random (32), then session id, cipher suites, compression methods.
  let at = 34;
  if (hello.length < at + 1) return undefined;
  at += 1 + hello[at]!;
  if (hello.length < at + 2) return undefined;
  at += 2 + hello.readUInt16BE(at);
  if (hello.length < at + 1) return undefined;
  at += 1 + hello[at]!;
  if (hello.length === at) return null; // no extensions at all (SSL 3.0-era clients)
  if (hello.length < at + 2) return undefined;
  const end = at + 2 + hello.readUInt16BE(at);
  if (end > hello.length) return undefined;
  for (at += 2; at + 4 <= end; ) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return undefined;
    if (type === SERVER_NAME_EXTENSION) return hostName(hello.subarray(at, at + length));
    at += length;
  }
  return null;
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
