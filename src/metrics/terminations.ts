/**
 * Termination codes (src/exchange/termination.ts) as small integers, so that a worker counts them
 * in one Float64Array per virtual service instead of an object keyed by string, and the flags the
 * counters need per code (is it a failure, a connect error) as one array read.
 */
import { Termination } from '../exchange/termination.ts';

/** Every code, in a fixed order: the index is the counter's slot. */
export const TERMINATION_CODES: readonly Termination[] = Object.values(Termination);

/** A code the table does not know (a string typed wider than Termination): counted apart, never dropped. */
export const OTHER_TERMINATION = 'other';

/** Slots per counter: the codes, then OTHER_TERMINATION. */
export const TERMINATION_SLOTS = TERMINATION_CODES.length + 1;

const INDEX = new Map<string, number>(TERMINATION_CODES.map((code, i) => [code, i]));

/** The slot of a code (its hash is cached in the interned string: one Map probe). */
export function terminationSlot(code: string): number {
  return INDEX.get(code) ?? TERMINATION_CODES.length;
}

/** The code of a slot (the last one: OTHER_TERMINATION). */
export function terminationOfSlot(slot: number): string {
  return TERMINATION_CODES[slot] ?? OTHER_TERMINATION;
}

/**
 * Failures on our side or the real server's: what "errors" counts besides 5xx answers. Client
 * behaviour (aborts, timeouts, bad requests, TLS) and policy (denied, rate-limited, redirects)
 * are not errors of the service; the termination counters still show them.
 */
const FAILURES: readonly Termination[] = [
  Termination.UPSTREAM_CONNECT_REFUSED,
  Termination.UPSTREAM_CONNECT_TIMEOUT,
  Termination.UPSTREAM_CONNECT_ERROR,
  Termination.UPSTREAM_TLS_FAILED,
  Termination.UPSTREAM_RESPONSE_TIMEOUT,
  Termination.UPSTREAM_RESET,
  Termination.UPSTREAM_MALFORMED,
  Termination.UPSTREAM_STOPPED_READING,
  Termination.NO_SERVER,
  Termination.QUEUE_FULL,
  Termination.QUEUE_TIMEOUT,
  Termination.CONNECTION_LIMIT,
  Termination.RESPONSE_TOO_LARGE,
  Termination.INTERNAL_ERROR,
];

/** The real server could not be reached (counted per real server as a connect error). */
const CONNECT_ERRORS: readonly Termination[] = [
  Termination.UPSTREAM_CONNECT_REFUSED,
  Termination.UPSTREAM_CONNECT_TIMEOUT,
  Termination.UPSTREAM_CONNECT_ERROR,
  Termination.UPSTREAM_TLS_FAILED,
];

function flags(codes: readonly Termination[]): Uint8Array {
  const table = new Uint8Array(TERMINATION_SLOTS);
  for (const code of codes) table[terminationSlot(code)] = 1;
  return table;
}

/** 1 at the slot of a failure code. */
export const IS_FAILURE: Readonly<Uint8Array> = flags(FAILURES);
/** 1 at the slot of a connect-error code. */
export const IS_CONNECT_ERROR: Readonly<Uint8Array> = flags(CONNECT_ERRORS);
