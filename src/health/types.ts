/**
 * Types only: what a probe reports, what the monitor emits and what its status holds, apart
 * from the code that produces them (HAProxy's `-t.h` split).
 */

/** The certificate an https check saw, whether or not it was verified. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** The certificate's notAfter as an ISO 8601 time. */
  validTo: string;
  /** Whole days until validTo; negative once expired. */
  daysToExpiry: number;
  /** Did the chain verify against the trusted CAs (reported even when tls.verify is off)? */
  chainValid: boolean;
  /** Why the chain did not verify, as OpenSSL names it (e.g. DEPTH_ZERO_SELF_SIGNED_CERT). */
  chainError?: string;
}

/** What a check sent and saw, for the status view and tests. */
export interface ProbeDetail {
  /** Where the check connected, as host:port. */
  target: string;
  /** The request line as sent, e.g. `HEAD / HTTP/1.0` (http and https), or the question (dns), e.g. `www.example.com A`. */
  request?: string;
  /** The Host header sent; null when none was (HTTP/1.0). */
  hostHeader?: string | null;
  /** The TLS server name sent; null when none (the host is an IP address). */
  serverName?: string | null;
  /** The response status code (http, https) or the greeting's reply code (ftp). */
  status?: number;
  /** ftp: the first line of the greeting, trimmed to 100 characters. */
  reply?: string;
  /** dns: the RCODE of the reply, e.g. NOERROR, SERVFAIL. */
  rcode?: string;
  /** dns: how many answer records the reply held. */
  answers?: number;
  /** Did the body get tested against expectBody? */
  bodyTested?: boolean;
  certificate?: CertificateInfo;
}

/** The outcome of one check. `reason` is words for a user: what happened and, when we can tell, what to change. */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  reason: string;
  detail?: ProbeDetail;
}

/** The last check of one real server, as the status and the change event carry it. */
export interface LastCheck {
  /** When the check finished, ISO 8601. */
  at: string;
  ok: boolean;
  latencyMs: number;
  reason: string;
}

/** The `change` event: a real server's health flipped. */
export interface HealthChange {
  pool: string;
  /** The real server's id, as formatAddress prints its address: "127.0.0.1:9001", "[::1]:80". */
  server: string;
  up: boolean;
  reason: string;
  /** The check that caused the change; null when a config change (reload) caused it. */
  lastCheck: LastCheck | null;
}

/** One real server in HealthMonitor.status(). */
export interface ServerHealthStatus {
  up: boolean;
  /** Why it is in this state, or what the last check said. */
  reason: string;
  /** When it entered this state (or its check started), ISO 8601. */
  since: string;
  /** What is checked, e.g. `http HEAD / HTTP/1.1 to 127.0.0.1:8081, Host: ntrip.surveyor.lab`; "not checked" for type none. */
  check: string;
  lastCheck: LastCheck | null;
  /** Checks since this server's check was (re)configured. */
  checks: { passed: number; failed: number };
  /** https checks: the certificate's notAfter, ISO 8601. */
  certificateExpires?: string;
}

/** HealthMonitor.status(): virtual service name -> real server id -> status. */
export type HealthStatus = Record<string, Record<string, ServerHealthStatus>>;

/** The operational log the monitor writes state changes to; a pino Logger fits. */
export interface HealthLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
