/**
 * Types only: what the admin API answers and what it needs from the supervisor, apart from the
 * code that serves it (HAProxy's `-t.h` split).
 */
import type { ErrorCode } from '../errors.ts';
import type { RealServerState } from '../config/schema.ts';
import type { ServerHealthStatus } from '../health/index.ts';
import type { ServerAgentStatus } from '../agent/index.ts';
import type { DnsCounters } from '../dns/answerer.ts';
import type { FqdnCheckStatus, SiteCheckStatus } from '../gslb/check-driver.ts';
import type { OcspCertificateStatus } from '../tls/ocsp.ts';

/** One real server in GET /api/v1/status. */
export interface RealServerStatus {
  /** Its id, as the API's URLs take it: "127.0.0.1:9001", "[2001:db8::1]:80". */
  address: string;
  /** What the config file asks for. */
  state: RealServerState;
  /** The configured weight. */
  weight: number;
  /** The weight new clients see now: 0 while disabled, draining, down or ejected (in any worker); below `weight` during slow start. The lowest over the workers. */
  effectiveWeight: number;
  /** The active health check's verdict, its reason and the last check. */
  health: ServerHealthStatus;
  /** Adaptive scheduling: what the server's load agent said (load or weight, up/down, drain/maint) and why; absent without an agent. */
  agent?: ServerAgentStatus;
  /** Ejected by outlier detection in at least one worker. */
  ejected: boolean;
  /** Requests in flight to it, summed over the workers; a drained server is ready for maintenance when this is 0. */
  activeRequests: number;
  /** Idle keep-alive connections to it, summed over the workers. */
  idleConnections: number;
  /** Requests sent to it, summed over the workers (since each worker started serving it). */
  requests: number;
}

export interface VirtualServiceStatus {
  name: string;
  listen: string;
  protocol: string;
  /** The pool its traffic goes to unless a rule routes elsewhere. */
  pool: string;
  /** Its pool's scheduling method. */
  scheduler: string;
  /** Client connections open now, summed over the workers. */
  clientConnections: number;
  /** Its pool's persistence entries, summed over the workers' tables; absent when persistence is off. */
  persistenceEntries?: number;
  /** Its pool's real servers (the same entries as under pools). */
  realServers: RealServerStatus[];
  /** Its content rules, in order, with the pool each routes to (null: the default) and how often each decided. */
  rules: RuleStatus[];
  /** An https service's certificates, as last loaded (at start, reload or a changed file). */
  certificates?: CertificateStatus[];
  /** HTTP/2 connections closed for floods (by limit) and protocol errors, summed over the workers; absent when none. */
  http2?: { floods: Record<string, number>; protocolErrors: number };
}

export interface CertificateStatus {
  /** The names it serves (SANs, wildcards as *.example.com). */
  names: string[];
  keyType: string;
  issuer: string;
  /** ISO 8601. */
  notAfter: string;
  certFile: string;
  /** Served to clients without SNI (or with a name no certificate covers). */
  isDefault: boolean;
  /** Expired, expiring within 14 days, chain incomplete: the warning's message; absent when none. */
  warnings?: string[];
  /** A certificate tls.acme obtains and renews: what the ACME client knows of it now. */
  acme?: AcmeCertificateStatus;
  /** With tls.ocsp: its OCSP state (stapled or not, the response's dates, the last fetch and error). */
  ocsp?: OcspCertificateStatus;
}

/** One certificate of tls.acme, as the supervisor's ACME client (src/acme/manager.ts) sees it. */
export interface AcmeCertificateStatus {
  name: string;
  /** The https virtual services that serve it. */
  virtualServices: string[];
  directory: string;
  challenge: string;
  /**
   * placeholder: no certificate issued yet (a self-signed one is served); valid; expired (a
   * renewal kept failing); ordering: an order is in progress; locked: another node is ordering
   * it; revoking: it left the config and is being revoked.
   */
  state: 'placeholder' | 'valid' | 'expired' | 'ordering' | 'locked' | 'revoking';
  /** The issuing CA's name (its certificate's subject); null for a placeholder. */
  issuer: string | null;
  /** ISO 8601; null for a placeholder. */
  notAfter: string | null;
  /** ISO 8601: when the certificate in service was obtained; null before the first. */
  lastRenewal: string | null;
  /** ISO 8601: the next order (the renewal's due time, or the back-off's end after a failure). */
  nextAttempt: string | null;
  /** The last attempt's error, until an attempt succeeds; null when none. */
  lastError: string | null;
  /** Failed attempts in a row. */
  failures: number;
  certFile: string;
}

export interface RuleStatus {
  name: string;
  /** The pool it routes to; null when it answers itself or uses the virtual service's pool. */
  pool: string | null;
  /** What it does: route, redirect, respond, deny, or edit (headers or path only). */
  action: string;
  /** Requests it decided, summed over the workers (since each worker built it). */
  hits: number;
}

/** One use of a pool: a virtual service's default, or one of its rules. */
export interface PoolUse {
  virtualService: string;
  /** null for the virtual service's default pool. */
  rule: string | null;
}

export interface PoolStatus {
  name: string;
  /** Written inline on the virtual service of the same name (realServers on the virtual service). */
  inline: boolean;
  scheduler: string;
  /** The persistence type, or null when off. */
  persistence: string | null;
  /** Who routes to it. */
  usedBy: PoolUse[];
  /** Persistence entries, summed over the workers; absent when persistence is off. */
  persistenceEntries?: number;
  /** Requests or connections waiting in its queue (every server at maxConnections), summed over the workers. */
  queued: number;
  realServers: RealServerStatus[];
}

/** A GSLB site as the API shows it: the check driver's view, its times in ISO 8601 like the rest of the API. */
export interface ApiSiteStatus extends Omit<SiteCheckStatus, 'since' | 'downAt'> {
  /** When `up` last changed; null before any change. */
  since: string | null;
  /** When a running siteFailure.delay ends and the site goes down; null when none runs. */
  downAt: string | null;
}

/** One GSLB site in GET /api/v1/status: plus what the config hands out. */
export interface GslbSiteStatus extends ApiSiteStatus {
  /** The addresses the answers hold for this site, as configured. */
  addresses: string[];
  weight: number;
}

/** One balanced name: its sites' health and reasons, and what the server would answer now to an unlocated client. */
export interface GslbFqdnStatus extends Omit<FqdnCheckStatus, 'sites'> {
  sites: GslbSiteStatus[];
}

/** The `gslb` member of GET /api/v1/status, present when the config has a gslb section. */
export interface GslbStatus {
  /** The DNS server's addresses (UDP and TCP on each). */
  listen: string[];
  /** The SOA serial every zone serves now. */
  serial: number;
  fqdns: GslbFqdnStatus[];
  /** The DNS counters summed over the workers that answered. */
  dns: DnsCounters;
}

/** GET /api/v1/status. */
export interface StatusDocument {
  virtualServices: VirtualServiceStatus[];
  pools: PoolStatus[];
  /** Absent without a gslb section. */
  gslb?: GslbStatus;
  /** Worker pids. */
  workers: number[];
  /** Workers that did not answer within the stats timeout; the counters leave them out. */
  workersNotAnswering: number[];
  /** The config generation the workers run (1 at start, +1 per applied reload). */
  generation: number;
}

/** A JSON error answer: `{ "error": { code, message, ... } }`. */
export interface ApiFailure {
  status: number;
  code: ErrorCode;
  message: string;
  /** Did you mean ...? */
  suggestion?: string;
  /** What would be accepted. */
  allowed?: readonly string[];
  /** Config problems, compiler style (FILE:LINE:COL: ...). */
  problems?: readonly string[];
}

export type ReloadOutcome =
  | { ok: true; generation: number }
  | { ok: false; reason: string; shuttingDown?: boolean };

/** What an operator sets on a GSLB site: enabled (back in, a manual hold released) or disabled (out, whatever its checks say). */
export type SiteState = 'enabled' | 'disabled';

export type SetSiteStateOutcome =
  | {
      ok: true;
      /** Lower case, no final dot. */
      fqdn: string;
      site: string;
      /** The site after the change. */
      status: ApiSiteStatus;
      /** What the server answers now, to an unlocated client. */
      answers: FqdnCheckStatus['answers'];
      /** What changed, in words (empty: nothing did). */
      events: string[];
    }
  | { ok: false; failure: ApiFailure };
