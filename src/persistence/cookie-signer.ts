/**
 * The active cookie's value: an opaque, signed server identity with a signed expiry, so that any
 * worker or Fulcrum node with the same key reads it the same way without shared state.
 *
 *   value = token (16) + expiry (6) + mac (11), 33 base64url characters, e.g.
 *           "Jr0b4SmWk7yXqZ1c" "Z2ZmZg" "q8dK2n0_pXw"
 *   token  = base64url(HMAC-SHA256(key, "server\n" + virtual service + "\n" + server id))[0..16]
 *   expiry = base64url(uint32 big-endian Unix seconds); 0 for a session cookie (timeout 0s)
 *   mac    = base64url(HMAC-SHA256(key, "expiry\n" + token + expiry)[0..8])
 *
 * The token names a server without revealing its address (96 bits of HMAC output); the mac
 * stops a client from stretching its own expiry. 64 bits are plenty for a tag that can only be
 * guessed online, one request per try. Tokens are computed at config load, one per server; a
 * request costs one Map lookup of its cookie value in a cache of values already verified, and an
 * HMAC only for a value not seen yet (a new value appears at most once per server per second).
 *
 * Forged values are cheap to refuse: an unknown token is refused by a Map lookup before any
 * HMAC, so only a value that reuses a genuine token costs one (about 4 µs with the key imported
 * once as a KeyObject; importing a Buffer key on every HMAC made it 18 µs).
 */
import { type KeyObject, createHash, createHmac, createSecretKey } from 'node:crypto';

const TOKEN_LENGTH = 16;
const EXPIRY_LENGTH = 6;
const MAC_LENGTH = 11;
export const COOKIE_VALUE_LENGTH = TOKEN_LENGTH + EXPIRY_LENGTH + MAC_LENGTH;
/** Verified values kept; cleared when full. Distinct valid values number about servers × seconds of issue. */
const VERIFIED_CACHE_SIZE = 16_384;
/** The environment variable that holds the key when the config does not. */
export const COOKIE_SECRET_ENV = 'FULCRUM_COOKIE_SECRET';

/**
 * The HMAC key: the configured secret, else FULCRUM_COOKIE_SECRET, else one derived from the
 * virtual service name. The derived key lets nodes with the same config agree without any
 * setup, but anyone who knows the name and the servers can compute valid values (documented).
 */
export function cookieKey(poolName: string, configured: string | null, env: NodeJS.ProcessEnv = process.env): Buffer {
  const secret = configured ?? env[COOKIE_SECRET_ENV];
  if (secret !== undefined && secret !== '') return Buffer.from(secret, 'utf8');
  return createHash('sha256').update(`fulcrum active-cookie v1\n${poolName}`).digest();
}

export class CookieSigner {
  readonly #key: KeyObject;
  /** token → caller's server number */
  readonly #byToken = new Map<string, number>();
  /** Values whose mac was verified → the server they name and their expiry. */
  readonly #verified = new Map<string, { server: number; expiry: number }>();
  /** The expiry (Unix seconds, 0: none) of the value `verify` last accepted. */
  lastExpiry = 0;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /** The token of one server; registers it so that values carrying it verify to `server`. */
  addServer(poolName: string, serverId: string, server: number): string {
    const token = createHmac('sha256', this.#key).update(`server\n${poolName}\n${serverId}`).digest('base64url').slice(0, TOKEN_LENGTH);
    this.#byToken.set(token, server);
    return token;
  }

  /** A value naming `token`, valid until `expiry` (Unix seconds; 0 for no expiry). */
  issue(token: string, expiry: number): string {
    const expiryBytes = Buffer.allocUnsafe(4);
    expiryBytes.writeUInt32BE(expiry >>> 0, 0);
    const expiryText = expiryBytes.toString('base64url');
    return token + expiryText + this.#mac(token, expiryText);
  }

  /**
   * The server a cookie value names, or -1 when it is malformed, forged, expired or names a
   * server not registered. Sets lastExpiry on success.
   */
  verify(value: string, nowSeconds: number): number {
    let known = this.#verified.get(value);
    if (known === undefined) {
      if (value.length !== COOKIE_VALUE_LENGTH) return -1;
      const token = value.slice(0, TOKEN_LENGTH);
      const server = this.#byToken.get(token);
      if (server === undefined) return -1;
      const expiryText = value.slice(TOKEN_LENGTH, TOKEN_LENGTH + EXPIRY_LENGTH);
      if (!timingSafeEqualText(this.#mac(token, expiryText), value.slice(TOKEN_LENGTH + EXPIRY_LENGTH))) return -1;
      const bytes = Buffer.from(expiryText, 'base64url');
      if (bytes.length !== 4) return -1;
      known = { server, expiry: bytes.readUInt32BE(0) };
      if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.clear();
      this.#verified.set(value, known);
    }
    const expiry = known.expiry;
    if (expiry !== 0 && expiry <= nowSeconds) return -1;
    this.lastExpiry = expiry;
    return known.server;
  }

  #mac(token: string, expiryText: string): string {
    return createHmac('sha256', this.#key).update(`expiry\n${token}${expiryText}`).digest().subarray(0, 8).toString('base64url');
  }
}

/** Compare two short ASCII strings in time independent of where they differ. */
function timingSafeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
