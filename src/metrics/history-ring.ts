/**
 * The last 10 minutes of the statistics history at 1-second resolution, in memory: one shared
 * ring of 600 timestamps, and per series a Float32Array of 600 points × 8 values (19 KB; float32
 * keeps 7 significant digits, plenty for a chart). Every sample writes a point for every series
 * it knows (NaN where a series had no value), so all series share the timestamps; a series with
 * no value for a whole ring (it left the config 10 minutes ago) is dropped.
 */
import { HISTORY_FIELDS } from './history-table.ts';

export const RING_POINTS = 600;
const WIDTH = HISTORY_FIELDS.length;

interface RingSeries {
  readonly values: Float32Array;
  /** Samples in a row without a value. */
  misses: number;
}

export interface Columns {
  /** Unix seconds, oldest first. */
  t: number[];
  /** One array per HISTORY_FIELDS entry, aligned with `t`; null: no value. */
  values: (number | null)[][];
}

export class SecondsRing {
  readonly #t = new Float64Array(RING_POINTS);
  /** The slot the next sample writes. */
  #next = 0;
  #size = 0;
  readonly #series = new Map<string, RingSeries>();

  /** One sample at `t` (Unix seconds): the points of the series that have one. */
  push(t: number, points: ReadonlyMap<string, readonly number[]>): void {
    const slot = this.#next;
    this.#t[slot] = t;
    for (const [key, values] of points) {
      let series = this.#series.get(key);
      if (series === undefined) this.#series.set(key, (series = { values: new Float32Array(RING_POINTS * WIDTH).fill(Number.NaN), misses: 0 }));
      series.misses = 0;
      for (let f = 0; f < WIDTH; f++) series.values[slot * WIDTH + f] = values[f] ?? Number.NaN;
    }
    for (const [key, series] of this.#series) {
      if (points.has(key)) continue;
      series.values.fill(Number.NaN, slot * WIDTH, slot * WIDTH + WIDTH);
      if (++series.misses >= RING_POINTS) this.#series.delete(key);
    }
    this.#next = (slot + 1) % RING_POINTS;
    this.#size = Math.min(this.#size + 1, RING_POINTS);
  }

  /** The points of `key` at `since` (Unix seconds) or later, oldest first; nulls for a series never seen. */
  read(key: string, since: number): Columns {
    const series = this.#series.get(key);
    const t: number[] = [];
    const values: (number | null)[][] = HISTORY_FIELDS.map(() => []);
    const first = (this.#next - this.#size + RING_POINTS) % RING_POINTS;
    for (let i = 0; i < this.#size; i++) {
      const slot = (first + i) % RING_POINTS;
      if (this.#t[slot]! < since) continue;
      t.push(this.#t[slot]!);
      for (let f = 0; f < WIDTH; f++) {
        const v = series === undefined ? Number.NaN : series.values[slot * WIDTH + f]!;
        values[f]!.push(Number.isNaN(v) ? null : v);
      }
    }
    return { t, values };
  }
}
