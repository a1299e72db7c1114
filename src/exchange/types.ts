/**
 * Types only: the two sides an exchange joins. A front end (the HTTP/1.1 connection today, an
 * HTTP/2 stream next) is its Downstream; the engine that carries it to a real server (the
 * HTTP/1.1 forwarder, src/upstream) is its Upstream. Neither knows the other: rules, scheduling,
 * logging and the forwarder see the exchange and these interfaces only.
 */
import type { FieldTable } from '../http/fields.ts';
import type { ResponseHead } from '../http/response-head.ts';
import type { Exchange } from './exchange.ts';
import type { HeaderEdits, MutableHeaders } from './headers.ts';
import type { DeadlineKind } from './deadline.ts';
import type { ClientCertificate } from '../tls/client-certificate.ts';

/** A response head from a real server, as the forwarder parsed it (HTTP/1.1 bytes underneath). */
export interface UpstreamResponseHead {
  readonly head: ResponseHead;
  /** The bytes the head was parsed from, and where it starts. */
  readonly buf: Buffer;
  readonly from: number;
  readonly fields: FieldTable;
  /** Whole field lines to add, CRLF included (persistence's Set-Cookie, rules' edits), or ''. */
  additions: string;
  /** Apply a rule's header changes (fields dropped, lines added). */
  edit(edits: HeaderEdits): void;
  /**
   * The head's fields for response-header filters to read and edit (made on first use); what
   * they add joins `additions` before the head is written.
   */
  headers(): MutableHeaders;
}

/** What an exchange needs of the front end that made it. */
export interface Downstream {
  /**
   * Does this exchange's client need the response payload rather than the real server's framing?
   * (HTTP/1.1 passes a chunked body through as it is, except to an HTTP/1.0 client; HTTP/2 always
   * wants the payload.) Asked once, when the response head arrives.
   */
  wantsPayload(ex: Exchange, res: ResponseHead): boolean;
  /** 1xx informational heads (100 Continue, 103 Early Hints), relayed as they come. */
  sendInformational(ex: Exchange, buf: Buffer, start: number, end: number): void;
  /**
   * The response starts: its head, and the body bytes that came with it (buf[bodyStart, bodyEnd)).
   * `upgrade`: a 101 that turns the connection into a tunnel. false: the client's buffer is full
   * (pause the upstream until `onDownstreamDrain`).
   */
  sendResponseHead(ex: Exchange, res: UpstreamResponseHead, bodyStart: number, bodyEnd: number, upgrade: boolean): boolean;
  /** More body; false when the client's buffer is full (the upstream should pause until `onDownstreamDrain`). */
  sendResponseBody(ex: Exchange, chunk: Buffer): boolean;
  /**
   * The response body will pass through response-body filters (asked instead of `wantsPayload`,
   * before `sendResponseHead`): the downstream gets payload through `sendPayload`, and frames it
   * itself. `length`: the Content-Length the head still declares (the body will match it), or -1
   * when the filters removed it: HTTP/1.1 then frames the body chunked (close-delimited for an
   * HTTP/1.0 client).
   */
  framePayload(ex: Exchange, res: UpstreamResponseHead, length: number): void;
  /** Filtered response payload (after framePayload); `last` ends the body. false: the client's buffer is full. */
  sendPayload(ex: Exchange, chunk: Buffer, last: boolean): boolean;
  /** The exchange is over and logged: take the next request, or close when `close`. */
  done(ex: Exchange, close: boolean): void;
  /**
   * Write an answer Fulcrum makes itself (errors, rules' deny/redirect/respond, 429), before any
   * response byte. Returns whether the connection must close after it.
   */
  sendLocal(ex: Exchange, answer: LocalAnswer): boolean;
  /** Something broke after the response started: cut the client off. */
  abort(ex: Exchange): void;
  /**
   * Stop reading the request body until `resumeRequest` (backpressure towards the client: the
   * real server is full, or a request-body filter stopped).
   */
  pauseRequest(ex: Exchange): void;
  /**
   * The request body may move again: send what was held back, read on. Ignored while a
   * request-body filter holds the exchange (`ex.requestBodyHeld`); its resume calls this again.
   */
  resumeRequest(ex: Exchange): void;
  /** Arm the upstream side's deadline (connect or response; deadline.ts), `ms` from now. */
  armUpstream(kind: DeadlineKind, ms: number): void;
  disarmUpstream(): void;
  /** The kind armed now (DeadlineKind.NONE when none). */
  readonly upstreamDeadlineKind: DeadlineKind;
  /** The real server ended a tunnel (after a 101): end the client's side. */
  tunnelClosed(ex: Exchange): void;
  /**
   * The client's certificate as the TLS handshake left it (mTLS), the same for every exchange of
   * the connection; null when the connection is not TLS or its service asks for none.
   */
  readonly clientCertificate: ClientCertificate | null;
}

/** What a downstream drives the upstream with, once the exchange is routed. */
export interface Upstream {
  /** Request body bytes (as the downstream framed them); false: pause the client until `onUpstreamDrain`. */
  sendBody(chunk: Buffer, end: boolean): boolean;
  /** The client's buffer has room again (or a stopped response-body filter resumed): resume reading the real server. */
  onDownstreamDrain(): void;
  /** The response-header filters resumed after a STOP: write the head and relay the body. */
  continueResponse(): void;
  /** The upstream side's deadline passed (connect, response). */
  onDeadline(kind: DeadlineKind): void;
  /** May request body bytes be sent now? (Connected, and the head written.) */
  readonly writable: boolean;
  /** The client went away: let go of the real server. */
  cancel(): void;
  /** Tunnel bytes after a 101 (client to server). */
  tunnel(chunk: Buffer): boolean;
  endTunnel(): void;
}

/** An answer of our own, protocol neutral: the downstream encodes it. */
export interface LocalAnswer {
  status: number;
  /** [name, value] pairs; Content-Length and Connection are the downstream's. */
  headers: ReadonlyArray<readonly [string, string]>;
  body: Buffer;
  /** The client must be closed after it (the request was not read whole, or a refused head). */
  close: boolean;
}
