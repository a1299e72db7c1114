/**
 * What a new connection (every protocol; a new session for UDP) must pass before anything is read
 * or a server chosen: the virtual service's access list (tcp, udp, ftp: HTTP checks it per
 * request, where a trusted proxy's X-Forwarded-For may name the client), its connection rate per
 * client and its open connections per client, both held for the virtual service as a whole
 * across workers (src/limits). A refused connection is closed at once.
 */
import { performance } from 'node:perf_hooks';
import type { RateLimitConfig } from '../config/rate-limit.ts';
import type { AccessConfig } from '../config/rules.ts';
import { Termination } from '../exchange/termination.ts';
import { parseIpInto } from '../ip/bytes.ts';
import { LimitName, limitId, Verdict, type LimitClient } from '../limits/index.ts';
import { compileAccess, type CompiledAccess } from '../rules/access.ts';
import type { MatchInput } from '../rules/types.ts';
import type { CountrySource } from './match-input.ts';

/** Why a connection was refused, for the log; null: admitted. */
export type GateDone = (refusal: { termination: Termination; detail: string } | null) => void;

export class ConnectionGate {
  readonly #client: LimitClient;
  readonly #access: CompiledAccess | null;
  readonly #countries: CountrySource | null;
  readonly #rateId: string | null;
  readonly #maxId: string | null;

  constructor(client: LimitClient, virtualService: string, rateLimit: RateLimitConfig | undefined, access: AccessConfig | undefined, countries: CountrySource | null) {
    this.#client = client;
    this.#access = access === undefined ? null : compileAccess(access);
    this.#countries = countries;
    this.#rateId = rateLimit?.connectionRate == null ? null : limitId(virtualService, LimitName.CONNECTION_RATE);
    this.#maxId = rateLimit?.maxConnectionsPerClient == null ? null : limitId(virtualService, LimitName.MAX_CONNECTIONS_PER_CLIENT);
  }

  /** Nothing to check: listeners skip the gate entirely. */
  get empty(): boolean {
    return this.#access === null && this.#rateId === null && this.#maxId === null;
  }

  /** Holds an open-connection slot once admitted: the connection must `release` it when it ends. */
  get countsConnections(): boolean {
    return this.#maxId !== null;
  }

  /**
   * Admit a connection from `client` (normalised address). Returns the refusal, or null when it is
   * admitted now, or 'pending' when `done` will say (exactly once, later).
   */
  admit(client: string, done: GateDone): { termination: Termination; detail: string } | null | 'pending' {
    if (this.#access !== null && !this.#access.allows(addressInput(client, this.#countries))) {
      return { termination: Termination.DENIED, detail: 'refused by the access list of the virtual service' };
    }
    return this.#rate(client, done);
  }

  #rate(client: string, done: GateDone): { termination: Termination; detail: string } | null | 'pending' {
    const id = this.#rateId;
    if (id === null) return this.#slot(client, done);
    const verdict = this.#client.take(id, client, performance.now(), (allowed) => {
      if (!allowed) return done(refusedBy(id));
      const next = this.#slot(client, done);
      if (next !== 'pending') done(next);
    });
    if (verdict === Verdict.PENDING) return 'pending';
    return verdict === Verdict.DENY ? refusedBy(id) : this.#slot(client, done);
  }

  #slot(client: string, done: GateDone): { termination: Termination; detail: string } | null | 'pending' {
    const id = this.#maxId;
    if (id === null) return null;
    const verdict = this.#client.acquire(id, client, performance.now(), (allowed) => done(allowed ? null : refusedBy(id)));
    if (verdict === Verdict.PENDING) return 'pending';
    return verdict === Verdict.DENY ? refusedBy(id) : null;
  }

  /** An admitted connection ended (only when countsConnections). */
  release(client: string): void {
    if (this.#maxId !== null) this.#client.release(this.#maxId, client, performance.now());
  }
}

function refusedBy(id: string): { termination: Termination; detail: string } {
  return { termination: Termination.RATE_LIMITED, detail: `over ${id}` };
}

/** A client known by its address alone (a Layer 4 connection). */
function addressInput(address: string, countries: CountrySource | null): MatchInput {
  const bytes = new Uint8Array(16);
  const family = parseIpInto(address, bytes);
  const clientBytes = family === 4 ? bytes.subarray(0, 4) : bytes;
  return {
    method: '',
    host: '',
    path: '',
    query: '',
    header: () => null,
    cookie: () => null,
    clientFamily: family,
    clientBytes,
    country: () => (family === 0 || countries === null ? null : (countries.lookup(family, bytes)?.place?.country ?? null)),
    clientCertificate: () => null,
  };
}
