import type { RealServer } from '../pool/real-server.ts';

/**
 * May `server` take this request? It must be available (enabled, up, weight > 0) and not among
 * the servers this request already tried. `available` is checked here as well as in `rebuild`
 * because it is three field reads: a runtime that forgets a rebuild then degrades to a stale
 * rotation instead of sending traffic to a server that is down.
 *
 * `exclude` holds the servers of one request's earlier attempts (a retry count, typically 0 to 3),
 * so a linear `includes` beats any set and allocates nothing.
 */
export function isUsable(server: RealServer, exclude: readonly RealServer[] | null): boolean {
  return server.available && (exclude === null || !exclude.includes(server));
}

/** The servers that may take new traffic, in list order. Called from `rebuild`, never per pick. */
export function availableServers(servers: readonly RealServer[]): RealServer[] {
  return servers.filter((server) => server.available);
}
