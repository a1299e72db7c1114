/**
 * Where a client connection is in its request/response cycle. One request is in flight at a
 * time; pipelined requests wait, unparsed, in the connection's input buffer and are answered in
 * order (as HAProxy does: serialising keeps responses in order without buffering them).
 */
export const Phase = {
  /** Waiting for (the rest of) a request head; `deadline` is the header or idle timeout. */
  READ_HEAD: 0,
  /** A request is being forwarded and its response relayed. */
  EXCHANGE: 1,
  /** After a 101: bytes flow both ways untouched until either side closes. */
  TUNNEL: 2,
  CLOSED: 3,
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** What the current deadline guards, so the timer knows what to do when it passes. */
export const DeadlineKind = {
  NONE: 0,
  CLIENT_HEADER: 1,
  CLIENT_IDLE: 2,
  CONNECT: 3,
  /** Waiting for the real server, or the client, to move the exchange on. */
  EXCHANGE: 4,
} as const;
export type DeadlineKind = (typeof DeadlineKind)[keyof typeof DeadlineKind];
