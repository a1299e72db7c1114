import type { UdpSession } from './udp-session.ts';

/**
 * The sessions of one UDP listener: found by client address and port, and kept in least recently
 * used order by an intrusive doubly linked list, so that a datagram moves its session to the
 * newest end with four pointer writes and no allocation, expiry walks from the oldest end only as
 * far as sessions have expired, and eviction takes the oldest at once.
 *
 * Addresses map to ports rather than to "address:port" keys: a key would be a string built and
 * hashed per datagram, where Node already hands us the address string.
 */
export class UdpSessionTable {
  readonly #byAddress = new Map<string, Map<number, UdpSession>>();
  #oldest: UdpSession | null = null;
  #newest: UdpSession | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The least recently used session: the next to expire or be evicted. */
  get oldest(): UdpSession | null {
    return this.#oldest;
  }

  get(address: string, port: number): UdpSession | null {
    return this.#byAddress.get(address)?.get(port) ?? null;
  }

  /** A new session, as the most recently used. Its address and port must not be in the table. */
  add(session: UdpSession): void {
    let ports = this.#byAddress.get(session.address);
    if (ports === undefined) {
      ports = new Map();
      this.#byAddress.set(session.address, ports);
    }
    ports.set(session.port, session);
    this.#link(session);
    this.#size++;
  }

  /** The session was just used: it becomes the newest. */
  touch(session: UdpSession): void {
    if (session === this.#newest) return;
    this.#unlink(session);
    this.#link(session);
  }

  remove(session: UdpSession): void {
    const ports = this.#byAddress.get(session.address);
    if (ports === undefined || ports.get(session.port) !== session) return;
    ports.delete(session.port);
    if (ports.size === 0) this.#byAddress.delete(session.address);
    this.#unlink(session);
    this.#size--;
  }

  #link(session: UdpSession): void {
    session.older = this.#newest;
    session.newer = null;
    if (this.#newest === null) this.#oldest = session;
    else this.#newest.newer = session;
    this.#newest = session;
  }

  #unlink(session: UdpSession): void {
    const { older, newer } = session;
    if (older === null) this.#oldest = newer;
    else older.newer = newer;
    if (newer === null) this.#newest = older;
    else newer.older = older;
    session.older = null;
    session.newer = null;
  }
}
