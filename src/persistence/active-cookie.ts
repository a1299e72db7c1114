import type { FieldTable } from '../http/fields.ts';
import type { RequestHead } from '../http/request-head.ts';
import type { RealServer } from '../pool/real-server.ts';
import { COOKIE_VALUE_LENGTH, CookieSigner, cookieKey } from './cookie-signer.ts';
import { cookieValue } from './request-keys.ts';
import type { MethodEnv, PersistenceMethod, PersistenceModule } from './types.ts';

/**
 * A cookie Fulcrum inserts, naming the server in a signed, opaque value (cookie-signer.ts). No
 * table: the client carries its own persistence, so workers and nodes with the same key agree
 * and memory does not grow with clients.
 */
export class ActiveCookie implements PersistenceMethod {
  readonly type = 'active-cookie';
  readonly #env: MethodEnv;
  readonly #name: Buffer;
  readonly #signer: CookieSigner;
  /** Per server slot: its token, and the last Set-Cookie line issued with the expiry it carries. */
  readonly #tokens: string[] = [];
  readonly #lines: string[] = [];
  readonly #lineExpiry: number[] = [];
  /** Timeout in whole seconds (0: a session cookie without expiry). */
  readonly #timeoutSeconds: number;
  readonly #attributes: string;

  constructor(env: MethodEnv) {
    this.#env = env;
    const { config, poolName } = env;
    this.#name = Buffer.from(config.cookieName!, 'latin1');
    this.#signer = new CookieSigner(cookieKey(poolName, config.cookieSecret));
    this.#timeoutSeconds = Math.ceil(config.timeout / 1000);
    // SameSite=Lax: sent on top-level navigation from other sites (a link into the site keeps
    // its server), not on their sub-requests. No Secure: the listener speaks plain HTTP.
    this.#attributes = `; Path=/${this.#timeoutSeconds > 0 ? `; Max-Age=${this.#timeoutSeconds}` : ''}; HttpOnly; SameSite=Lax\r\n`;
  }

  /** Register a configured server (at load, for every real server of the virtual service). */
  addServer(server: RealServer): void {
    const slot = this.#env.servers.slotOf(server);
    this.#tokens[slot] = this.#signer.addServer(this.#env.poolName, server.id, slot);
  }

  key(head: RequestHead, fields: FieldTable, _client: unknown, previous: string | null): string | null {
    return cookieValue(head.buf, fields, this.#name, COOKIE_VALUE_LENGTH, previous);
  }

  lookup(key: string, now: number): RealServer | null {
    const slot = this.#signer.verify(key, Math.floor(now / 1000));
    return slot < 0 ? null : this.#env.servers.serverAt(slot);
  }

  /** Nothing to store: the Set-Cookie line carries it (see setCookie). */
  remember(): void {}

  choose(): RealServer | null {
    return null;
  }

  /**
   * Should the cookie `lookup` just accepted be reissued? Yes once a quarter of its lifetime has
   * passed, so an active client keeps it (the browser drops it Max-Age after it was last set)
   * while a steady client gets a new Set-Cookie at most every timeout/4, not on every response.
   */
  needsRefresh(now: number): boolean {
    const expiry = this.#signer.lastExpiry;
    if (expiry === 0 || this.#timeoutSeconds === 0) return false;
    return expiry - now / 1000 < (this.#timeoutSeconds * 3) / 4;
  }

  /** The Set-Cookie field line that persists a client to `server` from `now`. Cached per server and second. */
  setCookie(server: RealServer, now: number): string {
    const slot = this.#env.servers.slotOf(server);
    const expiry = this.#timeoutSeconds === 0 ? 0 : Math.floor(now / 1000) + this.#timeoutSeconds;
    if (this.#lineExpiry[slot] === expiry) return this.#lines[slot]!;
    const token = this.#tokens[slot];
    if (token === undefined) return '';
    const line = `Set-Cookie: ${this.#name.toString('latin1')}=${this.#signer.issue(token, expiry)}${this.#attributes}`;
    this.#lines[slot] = line;
    this.#lineExpiry[slot] = expiry;
    return line;
  }
}

export const activeCookie: PersistenceModule = {
  type: 'active-cookie',
  usesTable: false,
  firstChoice: 'scheduler',
  create: (env) => new ActiveCookie(env),
};
