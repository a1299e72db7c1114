import type { RealServer } from '../pool/real-server.ts';
import { hash32 } from './hash.ts';
import type { PickContext, Scheduler, SchedulerModule } from './scheduler.ts';
import { availableServers, isUsable } from './usable.ts';

/**
 * Lookup table sizes, all prime. Maglev (Eisenbud et al., NSDI 2016) fills slot
 * (offset + j * skip) mod M for j = 0, 1, 2 ...; with M prime every skip in [1, M-1] is coprime to
 * M, so each server's sequence visits all M slots and the fill always terminates. The paper keeps
 * M > 100 * N so that table shares differ from the weights by about 1% or less: 65537 (Envoy's
 * default) covers up to 655 servers in 128 KB of Uint16; larger pools step up to the next size.
 */
const TABLE_SIZES = [65537, 131071, 262139, 524287, 1048573] as const;
const SLOTS_PER_SERVER = 100;

/** Independent hash seeds: a server's offset, its skip, and the client key. */
const SEED_OFFSET = 0x9e3779b9;
const SEED_SKIP = 0x7f4a7c15;
const SEED_CLIENT = 0x2545f491;

/** Node reports IPv4 clients of a dual-stack listener as "::ffff:a.b.c.d"; hash both forms alike. */
const V4_MAPPED_PREFIX = '::ffff:';

/** The smallest size with 100 slots per server; past 10485 servers the largest, a little less even. */
function tableSizeFor(serverCount: number): number {
  let size: number = TABLE_SIZES[0];
  for (size of TABLE_SIZES) if (size >= serverCount * SLOTS_PER_SERVER) break;
  return size;
}

/**
 * Source IP hash over a Maglev lookup table: the same client address goes to the same server for as
 * long as the set of available servers is unchanged, and when one of n servers leaves or joins
 * about 1/n of the clients move (those it held or takes), plus a small fraction of others where
 * Maglev trades perfect stability for even shares (measured over 10,000 clients: removing 1 of 5
 * servers moves the removed server's 19-21% plus 0.1-0.15% from the survivors).
 *
 * The table is built over the available servers sorted by id (host:port), not by list position,
 * so two balancers (or workers) with the same servers build the same table whatever their config
 * order. Weights are honoured as in Envoy's weighted Maglev: a server with half the top weight
 * takes a slot every second round of the fill.
 *
 * `pick` is one hash of the address and one table read. If that server was already tried, the walk
 * goes on through the following slots to the next distinct usable server, so the retries of one
 * server's clients spread over the others in proportion to their shares, and the same client
 * always retries the same way.
 */
class SourceIpHash implements Scheduler {
  readonly #servers: readonly RealServer[];
  /** Available servers sorted by id; the table stores position + 1 (0 = not yet filled). */
  #entries: RealServer[] = [];
  #table: Uint16Array | Uint32Array = new Uint16Array(0);

  constructor(servers: readonly RealServer[]) {
    this.#servers = servers;
    this.rebuild();
  }

  rebuild(): void {
    const entries = availableServers(this.#servers).sort(
      (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.index - b.index),
    );
    this.#entries = entries;
    this.#table = buildTable(entries);
  }

  pick(ctx: PickContext): RealServer | null {
    const table = this.#table;
    const size = table.length;
    if (size === 0) return null;
    const entries = this.#entries;
    const address = ctx.clientAddress;
    const start = address.startsWith(V4_MAPPED_PREFIX) && address.includes('.', V4_MAPPED_PREFIX.length)
      ? V4_MAPPED_PREFIX.length
      : 0;
    let slot = hash32(address, SEED_CLIENT, start) % size;
    const first = entries[table[slot]! - 1]!;
    const exclude = ctx.exclude;
    if (isUsable(first, exclude)) return first;

    // Rare path (a retry, or a server gone since the last rebuild). Check that some server is
    // usable before walking up to the whole table.
    let anyUsable = false;
    for (let i = 0; i < entries.length && !anyUsable; i++) anyUsable = isUsable(entries[i]!, exclude);
    if (!anyUsable) return null;
    for (let step = 1; step < size; step++) {
      slot = slot + 1 === size ? 0 : slot + 1;
      const server = entries[table[slot]! - 1]!;
      if (server !== first && isUsable(server, exclude)) return server;
    }
    // Every server takes a slot in the first round of the fill, so the walk finds any usable one
    // unless the pool outgrew the largest table (over 1,048,573 servers); then take list order.
    for (let i = 0; i < entries.length; i++) if (isUsable(entries[i]!, exclude)) return entries[i]!;
    return null;
  }
}

/** Maglev's population loop with Envoy's weighting; about M * ln M probes, a few ms for M = 65537. */
function buildTable(entries: readonly RealServer[]): Uint16Array | Uint32Array {
  const n = entries.length;
  if (n === 0) return new Uint16Array(0);
  const size = tableSizeFor(n);
  // Position + 1 must fit: Uint16 up to 65535 servers.
  const table = n < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  const position = new Float64Array(n);
  const skip = new Float64Array(n);
  const weight = new Float64Array(n);
  const target = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const server = entries[i]!;
    position[i] = hash32(server.id, SEED_OFFSET) % size;
    skip[i] = (hash32(server.id, SEED_SKIP) % (size - 1)) + 1;
    weight[i] = server.weight;
    if (server.weight > maxWeight) maxWeight = server.weight;
  }
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      // A server of weight w takes a slot in a round when round * w has caught up with the slots
      // it already holds times the top weight: the heaviest server every round, one of half the
      // weight every second round.
      if (round * weight[i]! < target[i]!) continue;
      target[i] = target[i]! + maxWeight;
      let slot = position[i]!;
      const step = skip[i]!;
      while (table[slot] !== 0) {
        slot += step;
        if (slot >= size) slot -= size;
      }
      table[slot] = i + 1;
      slot += step;
      position[i] = slot >= size ? slot - size : slot;
      filled++;
    }
  }
  return table;
}

export const sourceIpHash: SchedulerModule = {
  name: 'source-ip-hash',
  create: (servers) => new SourceIpHash(servers),
};
