/**
 * What a connection's deadlines guard, so the worker's tick knows what to do when one passes.
 * Timeouts are not timers: arming one is two field writes, and the worker's 100 ms tick walks the
 * connections (no setTimeout object per request).
 *
 * A connection has two slots: its own (the client's side: head, idle, body, linger) and its
 * exchange's upstream side (connect, response), so that a slow upload and a slow server are
 * timed independently and each failure is blamed on the right party.
 */
export const DeadlineKind = {
  NONE: 0,
  /** Waiting for a request head: from its first byte (or the accept) to its end, whatever arrives between. */
  CLIENT_HEADER: 1,
  /** A keep-alive connection between requests. */
  CLIENT_IDLE: 2,
  /** The request body must progress (4 KiB or its end) within each timeouts.clientBody. */
  CLIENT_BODY: 3,
  /** After an answer that closes: read on briefly so the client sees the answer, not a reset. */
  LINGER: 4,
  /** Opening the connection to the real server (timeouts.connect). */
  CONNECT: 5,
  /** Waiting for the real server: its response, its next bytes, or its reading of our body (timeouts.response). */
  RESPONSE: 6,
} as const;
export type DeadlineKind = (typeof DeadlineKind)[keyof typeof DeadlineKind];
