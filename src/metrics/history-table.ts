/**
 * The 24-hour statistics history on disk: one row per minute per series (a virtual service, a
 * real server of a pool, or the total), in the admin plane's SQLite state database, in a table
 * of its own created here (CREATE TABLE IF NOT EXISTS), so that it needs nothing but a
 * DatabaseSync.
 *
 * Bounded: rows older than 24 hours are deleted every minute (deleteBefore), so the table holds
 * at most 1441 rows per series: about 100 bytes a row (eight REALs, the series name, the
 * minute, SQLite's overhead), 144 KB per series, e.g. 20 virtual services and 100 real servers
 * (121 series with the total) about 17 MB. A series that leaves the config ages out within a day.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { ErrorCode, FulcrumError } from '../errors.ts';

/** The values of one point, in this order in the table, in memory and in query answers. */
export const HISTORY_FIELDS = ['requestsPerSecond', 'activeConnections', 'bytesInPerSecond', 'bytesOutPerSecond', 'latencyP50Ms', 'latencyP90Ms', 'latencyP99Ms', 'errorsPerSecond'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

const COLUMNS = ['requests_per_second', 'active_connections', 'bytes_in_per_second', 'bytes_out_per_second', 'latency_p50_ms', 'latency_p90_ms', 'latency_p99_ms', 'errors_per_second'] as const;

/** One minute of one series: its start (Unix seconds) and HISTORY_FIELDS's values (NaN: none). */
export interface MinuteRow {
  series: string;
  minute: number;
  values: readonly number[];
}

export class HistoryTable {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #delete: StatementSync;
  readonly #read: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS stats_history_minutes (
        series TEXT NOT NULL,
        minute INTEGER NOT NULL,
        ${COLUMNS.map((c) => `${c} REAL`).join(',\n        ')},
        PRIMARY KEY (series, minute)) WITHOUT ROWID`);
      this.#insert = db.prepare(`INSERT OR REPLACE INTO stats_history_minutes (series, minute, ${COLUMNS.join(', ')}) VALUES (?, ?, ${COLUMNS.map(() => '?').join(', ')})`);
      // A full scan once a minute (the key starts with series): 1441 rows per series, a few ms for 100 000 rows.
      this.#delete = db.prepare('DELETE FROM stats_history_minutes WHERE minute < ?');
      this.#read = db.prepare(`SELECT minute, ${COLUMNS.join(', ')} FROM stats_history_minutes WHERE series = ? AND minute >= ? AND minute < ? ORDER BY minute`);
    } catch (error) {
      throw historyError('create its table', error);
    }
  }

  /** Write a minute's rows and delete those older than `oldest` (Unix seconds), in one transaction. */
  write(rows: readonly MinuteRow[], oldest: number): void {
    const db = this.#db;
    try {
      db.exec('BEGIN');
      try {
        for (const row of rows) this.#insert.run(row.series, row.minute, ...row.values.map((v) => (Number.isFinite(v) ? v : null)));
        this.#delete.run(oldest);
        db.exec('COMMIT');
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      throw historyError('write the last minute', error);
    }
  }

  /** The rows of `series` with from <= minute < to (Unix seconds), oldest first: minute and HISTORY_FIELDS's values (null: none). */
  read(series: string, from: number, to: number): Array<{ minute: number; values: (number | null)[] }> {
    let rows: Array<Record<string, number | null>>;
    try {
      rows = this.#read.all(series, from, to) as Array<Record<string, number | null>>;
    } catch (error) {
      throw historyError('read it', error);
    }
    return rows.map((row) => ({ minute: row['minute']!, values: COLUMNS.map((c) => row[c] ?? null) }));
  }
}

function historyError(action: string, error: unknown): FulcrumError {
  const reason = error instanceof Error ? error.message : String(error);
  return new FulcrumError(ErrorCode.STATE_DATABASE, `the statistics history could not ${action} in the state database: ${reason}`, { cause: error });
}
