/**
 * The wire between a worker's LimitClient and the supervisor's LimitAuthority: plain objects that
 * Node's advanced IPC serialisation carries as they are. Both directions use `type: 'limits'`, so
 * each joins its union (FromWorker, ToWorker) without clashing with the other messages.
 *
 * A worker sends at most one message per event-loop turn: every ask and every return of that turn.
 * The authority answers a message that has asks (batch > 0) with exactly one message, whose
 * grants follow the asks in order; a message with returns only (batch 0) gets no answer.
 */

/** Worker → authority. */
export interface LimitsToAuthority {
  type: 'limits';
  /** Increases per message that expects an answer; 0: returns only, no answer wanted. */
  batch: number;
  asks: LimitAsk[];
  returns: LimitReturn[];
}

/** A worker wants `want` tokens (rate) or slots (concurrency) of one limit for one key. */
export interface LimitAsk {
  limit: string;
  key: string;
  /** The worker's number for this ask, echoed in its grant so a late answer is recognised. */
  seq: number;
  want: number;
}

/** Tokens a worker did not use, or slots it no longer holds, going back. */
export interface LimitReturn {
  limit: string;
  key: string;
  count: number;
}

/** Authority → worker. */
export interface LimitsToWorker {
  type: 'limits';
  /** The batch this answers; every earlier batch has been answered too (IPC keeps order). */
  batch: number;
  grants: LimitGrant[];
}

export interface LimitGrant {
  limit: string;
  key: string;
  seq: number;
  /** 0..: may be more than asked (a lease for later requests) or fewer (the bucket ran dry). */
  granted: number;
  /** When granted < want: ms until the bucket has a token again (rate), 0 for concurrency. */
  retryAfterMs: number;
}
