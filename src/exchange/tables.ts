import { FieldTable } from '../http/fields.ts';
import { RequestHead } from '../http/request-head.ts';

/** The most header fields any limit may allow (the schema caps limits.maxHeaders below this). */
export const FIELD_TABLE_CAPACITY = 1024;

/**
 * A worker's spare FieldTables (header offsets, 1024 fields: about 22 KiB each). An exchange takes
 * one when its head is parsed and gives it back once the head is encoded for the real server (or
 * the exchange ends), so tables are held only by heads in flight, never by idle keep-alive
 * connections, and a filter that stops an exchange keeps its head intact. Steady state allocates
 * nothing.
 */
export class FieldTablePool {
  readonly #free: FieldTable[] = [];
  /** Spares kept beyond this are left to the GC: a burst of slow filters must not pin memory forever. */
  readonly #keep: number;

  constructor(keep = 64) {
    this.#keep = keep;
  }

  acquire(): FieldTable {
    return this.#free.pop() ?? new FieldTable(FIELD_TABLE_CAPACITY);
  }

  release(table: FieldTable): void {
    table.count = 0;
    if (this.#free.length < this.#keep) this.#free.push(table);
  }
}

const NO_BYTES = Buffer.alloc(0);

/**
 * A worker's spare RequestHeads: a head is parsed into one, and it comes back when its exchange
 * has ended (nothing reads an ended exchange's head), so a request allocates none and an idle
 * keep-alive connection holds none. Its bytes are let go on the way back.
 */
export class RequestHeadPool {
  readonly #free: RequestHead[] = [];

  acquire(): RequestHead {
    return this.#free.pop() ?? new RequestHead();
  }

  release(head: RequestHead): void {
    head.buf = NO_BYTES;
    if (this.#free.length < 64) this.#free.push(head);
  }
}
