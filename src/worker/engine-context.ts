import { randomBytes } from 'node:crypto';
import { FieldTablePool, RequestHeadPool } from '../exchange/tables.ts';
import type { CountrySource } from '../filters/match-input.ts';
import type { AcmeChallengeStore } from '../acme/challenge-store.ts';
import { LimitAuthority, LimitClient, LocalLink } from '../limits/index.ts';
import type { AccessLogSink } from '../log/access-log.ts';
import { MetricsRecorder } from '../metrics/recorder.ts';

/**
 * Every socket read hands us a freshly allocated buffer of up to 64 KiB, and V8 frees those only
 * when it collects the small JS objects that hold them. On its own it does that after 64 MiB of
 * external memory has piled up (V8's kExternalAllocationSoftLimit), so a bulk transfer alone
 * grows the worker by ~65 MiB of dead read buffers. A young-generation collection after every
 * 8 MiB read keeps that under ~10 MiB; it takes well under a millisecond, since almost nothing on
 * the data path survives it, so at 1 GB/s it costs a few percent and at small requests nothing.
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

/** HTTP/2 connections closed by us, by reason (flood-guard.ts's limits; nghttp2's protocol errors). */
export interface Http2Events {
  floods: Record<string, number>;
  protocolErrors: number;
}

/** What the data path tells the operator (the worker's logger implements it). */
export type EventSink = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>) => void;

/** What every connection of one worker shares: the spare header tables, the access log, the GC hook, the operational log. */
export class EngineContext {
  /** The operational log; the worker runtime sets it. */
  events: EventSink = (level, message) => process.emitWarning(`fulcrum ${level}: ${message}`);
  /** Header tables for heads in flight (exchanges own theirs; see FieldTablePool). */
  readonly tables = new FieldTablePool();
  /** Request heads in flight (RequestHeadPool). */
  readonly heads = new RequestHeadPool();
  accessLog: AccessLogSink | null = null;
  /**
   * Rate and connection limits (src/limits): decided in this process with one worker; through
   * the supervisor's authority with several (the runtime switches the link).
   */
  readonly limits = new LimitClient(new LocalLink(new LimitAuthority()));
  /** virtual service → its HTTP/2 connections closed for floods (by limit) and protocol errors. */
  readonly http2Events = new Map<string, Http2Events>();
  /** virtual service → rule name → times it decided, kept across reloads while the names stay. */
  readonly ruleHits = new Map<string, Map<string, number>>();
  /** Requests, connections, bytes and latencies per virtual service and real server, kept across reloads while the names stay (src/metrics). */
  readonly metrics = new MetricsRecorder();
  /**
   * The secret TLS session ticket keys are derived from (src/tls/ticket-keys.ts): the
   * supervisor's, the same in every worker (FULCRUM_TICKET_SECRET), so a ticket from one worker
   * resumes on another; a random one in a runtime started alone (tests).
   */
  ticketSecret: Buffer = ticketSecretFromEnv() ?? randomBytes(32);
  /** Clients' countries (the config's GeoIP database); null: none. */
  countries: CountrySource | null = null;
  /** ACME challenges the http services answer (the config's tls.acme names, src/acme); null: none. */
  acme: AcmeChallengeStore | null = null;
  /** Runs a young-generation GC; set by a worker started with --expose-gc (see COLLECT_EVERY_BYTES). */
  collect: (() => void) | null = null;
  #readSinceCollect = 0;

  /**
   * A throw inside the data path (a bug): logged with its stack, contained by the caller to one
   * exchange or connection; the worker serves on.
   */
  fault(error: unknown, fields: Record<string, unknown>): void {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.events('error', `internal error in the data path: ${error instanceof Error ? error.message : String(error)}`, { ...fields, stack, event: 'internal-error' });
  }

  /** An HTTP/2 connection of `service` closed for a flood (`limit`) or, with null, a protocol error. */
  noteHttp2(service: string, limit: string | null): void {
    let events = this.http2Events.get(service);
    if (events === undefined) this.http2Events.set(service, (events = { floods: {}, protocolErrors: 0 }));
    if (limit === null) events.protocolErrors++;
    else events.floods[limit] = (events.floods[limit] ?? 0) + 1;
  }

  /** Count bytes read from a socket; collect the dead read buffers every COLLECT_EVERY_BYTES. */
  noteRead(bytes: number): void {
    this.#readSinceCollect += bytes;
    if (this.#readSinceCollect >= COLLECT_EVERY_BYTES) {
      this.#readSinceCollect = 0;
      this.collect?.();
    }
  }
}

/** The supervisor's ticket secret, hex in FULCRUM_TICKET_SECRET; null when not started by one. */
function ticketSecretFromEnv(): Buffer | null {
  const hex = process.env['FULCRUM_TICKET_SECRET'];
  return hex !== undefined && /^[0-9a-f]{64,}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}
