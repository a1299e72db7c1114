import type { RealServer } from '../pool/real-server.ts';
import type { LruTable } from './lru-table.ts';
import type { ServerSlots } from './types.ts';

/**
 * A table method's lookup and remember over an LruTable of server slots. A `remember` right
 * after the `lookup` that found the same key renews that entry in place (no second Map lookup).
 */
export class TableBinding {
  readonly #table: LruTable;
  readonly #servers: ServerSlots;
  #lastPos = -1;

  constructor(table: LruTable, servers: ServerSlots) {
    this.#table = table;
    this.#servers = servers;
  }

  lookup(key: string, now: number): RealServer | null {
    const table = this.#table;
    const pos = table.find(key, now);
    this.#lastPos = pos;
    return pos < 0 ? null : this.#servers.serverAt(table.valueAt(pos));
  }

  remember(key: string, server: RealServer, now: number): void {
    const table = this.#table;
    const slot = this.#servers.slotOf(server);
    const pos = this.#lastPos;
    this.#lastPos = -1;
    if (pos >= 0 && table.keyAt(pos) === key && table.valueAt(pos) === slot) table.refresh(pos, now);
    else table.set(key, slot, now);
  }
}
