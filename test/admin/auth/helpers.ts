/**
 * Helpers for the admin state and auth tests: a real SQLite file in a fresh temporary directory,
 * and a clock the test moves by hand.
 */
import assert from 'node:assert/strict';
import { FulcrumError } from '../../../src/errors.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStateDatabase, type StateDatabase } from '../../../src/admin/state/database.ts';

export interface TempDatabase {
  dir: string;
  path: string;
  db: StateDatabase;
  /** Close the database and remove the directory. */
  remove(): void;
}

export function tempDatabase(prefix = 'fulcrum-state-'): TempDatabase {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const file = path.join(dir, 'fulcrum.db');
  const db = openStateDatabase(file);
  return {
    dir,
    path: file,
    db,
    remove() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A clock at `start` (ms since the epoch) that moves only when told. */
export class ManualClock {
  #now: number;
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }
  readonly now = (): number => this.#now;
  advance(ms: number): void {
    this.#now += ms;
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** For assert.throws / rejects: a FulcrumError with this code (and a message matching `pattern`). */
export function hasCode(code: string, pattern?: RegExp): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof FulcrumError, String(error));
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  };
}
