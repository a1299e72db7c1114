/**
 * Types only: the boundary between the content-rule engine and the HTTP engine that runs it.
 * The exchange implements MatchInput and MutableHeaders over its own request and response;
 * the rule engine reads and edits through them and never sees bytes or sockets.
 */
import type { ClientCertificate } from '../tls/client-certificate.ts';

/** What a rule's match reads of one request; the exchange implements it (lazily, per request). */
export interface MatchInput {
  /** Case-sensitive token, e.g. "GET", "RPC_IN_DATA". */
  readonly method: string;
  /** Lower case, no port, no trailing dot; '' when none. */
  readonly host: string;
  /** Normalised path without query: starts with '/', or '*'. */
  readonly path: string;
  /** Raw query after '?', without any '#...'; '' when none. */
  readonly query: string;
  /** First field with that name (value trimmed), or null. */
  header(lowerName: string): string | null;
  /** Cookie value (case-sensitive name), or null. */
  cookie(name: string): string | null;
  /** 0: unknown address. */
  readonly clientFamily: 0 | 4 | 6;
  /** 4 or 16 bytes (IPv4-mapped already IPv4). */
  readonly clientBytes: Uint8Array;
  /** ISO 3166-1 alpha-2, upper case, or null. */
  country(): string | null;
  /** The connection's client certificate facts (mTLS); null when its service asks for none. */
  clientCertificate(): ClientCertificate | null;
}

/** Capture groups of the matched rule's path regex ($1..$9), '' for groups that did not take part. */
export interface Captures {
  count: number;
  readonly groups: string[];
}

/** The header view rules edit through: the exchange's, one definition for every filter. */
export type { MutableHeaders } from '../exchange/headers.ts';

/** A rule list compiled for the data path (src/rules/match-compile.ts). */
export interface RuleMatcher {
  /**
   * The index of the first rule whose match holds for `input`, or -1. On a match, `captures`
   * holds the groups of that rule's path regex (count 0 when it has none). Synchronous; one
   * matcher may serve every request of a worker, one at a time.
   */
  match(input: MatchInput, captures: Captures): number;
}
