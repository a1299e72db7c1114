/**
 * Idle timeouts without a timer per socket: the owner passes its byte count on each worker tick
 * (100 ms), and a count that has not moved for the limit means idle. The data path pays nothing.
 */
export class IdleWatch {
  #seen = -1;
  #since = 0;

  /** True when `bytes` has not changed for `limitMs` (a first call starts the clock). */
  expired(bytes: number, now: number, limitMs: number): boolean {
    if (bytes !== this.#seen) {
      this.#seen = bytes;
      this.#since = now;
      return false;
    }
    return now - this.#since >= limitMs;
  }
}
