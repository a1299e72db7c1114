/**
 * The wire between a worker's LimitClient and the supervisor's LimitAuthority: plain objects that
 * Node's advanced IPC serialisation carries as they are. Both directions use `type: 'limits'`, so
 * each joins its union (FromWorker, ToWorker) without clashing with the other messages.
 *
 * A worker sends at most one message per event-loop turn, with every ask and every return of that
 * turn. The authority answers a message with batch > 0 with exactly one message, whose columns
 * follow the asks in order; a message with batch 0 (returns only) gets no answer.
 *
 * Columns, not one object per ask: v8.serialize + deserialize of 1000 asks takes about 0.4 ms as
 * columns and 1.7 ms as objects (the property names are written per object), and the answer,
 * two columns of small integers, about 0.13 ms.
 */

/** Worker → authority. Ask i: `askWants[i]` tokens (rate) or slots (concurrency) of limit `askLimits[i]` for key `askKeys[i]`. */
export interface LimitsToAuthority {
  type: 'limits';
  /** Increases per message that expects an answer; 0: returns only. */
  batch: number;
  askLimits: string[];
  askKeys: string[];
  askWants: number[];
  /** Return i: `returnCounts[i]` unused tokens or released slots of limit `returnLimits[i]` for key `returnKeys[i]`. */
  returnLimits: string[];
  returnKeys: string[];
  returnCounts: number[];
}

/** Authority → worker: the answer to batch `batch`, one entry per ask, in order. */
export interface LimitsToWorker {
  type: 'limits';
  batch: number;
  /** 0..: may be more than asked (a lease for later requests) or fewer (the bucket ran dry, the max is reached). */
  granted: number[];
  /** Where granted < want: ms until the bucket has a whole token again (rate); 0 for concurrency. */
  retryAfterMs: number[];
}
