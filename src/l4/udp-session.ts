/**
 * Types and data only: one client (address and port) of a UDP virtual service and the socket it
 * holds towards its real server. The listener (udp-listener.ts) gives it behaviour; the session
 * table (udp-session-table.ts) links it into its least-recently-used order.
 */
import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { normaliseAddress } from '../ip/client-address.ts';
import type { RealServer } from '../pool/real-server.ts';

/** Why a session ended, for the counters. */
export type UdpSessionEnd =
  | 'expired' // udp.sessionTimeout without a datagram either way
  | 'evicted' // udp.maxSessions reached: the least recently used one made room
  | 'unavailable' // its real server went down, was disabled, left the config or drained past drainTimeout
  | 'failed' // its socket failed: ICMP unreachable from the real server, or a local error
  | 'destroyed'; // destroyAll

export class UdpSession {
  readonly address: string;
  readonly port: number;
  /** The address as the limits and the access log know it (IPv4-mapped normalised). */
  readonly clientIp: string;
  /** Re-homed by a reload to the new service's server of the same id (VirtualService may rebuild it). */
  server: RealServer;
  /** Connected to the real server, so the kernel hands it that server's replies and ICMP errors only. */
  readonly socket: Socket;
  /** The listener's clock at the last datagram either way. */
  lastSeen: number;
  /**
   * Client datagrams that came while the socket was connecting (Node rejects a send without a
   * port until it is connected); null once connected, and then never again.
   */
  pending: Buffer[] | null = [];
  /**
   * The callback of every send towards the real server (one closure per session, none per
   * datagram): a connected socket reports an ICMP unreachable either to its next receive or,
   * when a send comes first, to that send, which must then not swallow it.
   */
  afterSend: (err: Error | null) => void = ignore;
  /** The real server has answered at least once (outlier detection hears of it once per session). */
  replied = false;
  closed = false;
  /** For its access-log line: counted per datagram (plain fields, no allocation), written once when it ends. */
  datagramsIn = 0;
  bytesIn = 0;
  datagramsOut = 0;
  bytesOut = 0;
  readonly startedAt = performance.now();
  /** Links of the table's least-recently-used list: older towards eviction, newer towards the last used. */
  older: UdpSession | null = null;
  newer: UdpSession | null = null;

  constructor(address: string, port: number, server: RealServer, socket: Socket, now: number) {
    this.address = address;
    this.port = port;
    this.clientIp = normaliseAddress(address);
    this.server = server;
    this.socket = socket;
    this.lastSeen = now;
  }
}

function ignore(): void {}
