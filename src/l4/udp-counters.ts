/** What one UDP listener has done since it started, for the stats and for tests. Plain fields: the data path bumps them per datagram. */
export class UdpCounters {
  /** Datagrams received from clients. */
  datagramsIn = 0;
  /** Replies of real servers sent back to clients. */
  datagramsOut = 0;
  /**
   * Client datagrams not forwarded: no real server available, the listener draining and the
   * client without a session, or more than a connecting session holds.
   */
  dropped = 0;
  /** Client datagrams that would have opened a session past the access list or a connection limit (also counted in dropped). */
  refused = 0;
  sessionsCreated = 0;
  /** Ended after udp.sessionTimeout without a datagram either way. */
  sessionsExpired = 0;
  /** Closed to make room under udp.maxSessions (the least recently used). */
  sessionsEvicted = 0;
  /** Closed because their real server became unavailable or left the config. */
  sessionsMoved = 0;
  /** Closed because their socket failed (ICMP port unreachable from the real server, a local error). */
  sessionsFailed = 0;
  /** Socket errors and failed sends, survived. */
  errors = 0;
}
