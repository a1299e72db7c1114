/**
 * Types only: the PROXY protocol (HAProxy's proxy-protocol.txt, v1 text and v2 binary) as
 * Fulcrum reads and writes it. A balancer in front of us prepends one header to a connection to
 * tell us the client's address; we prepend one to a real server's connection to do the same.
 */

export interface ProxyEndpoint {
  /** An IPv4 dotted quad or an IPv6 address in Node's compressed form ("2001:db8::1", "::ffff:1.2.3.4"). */
  address: string;
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * 'local': the sender opened the connection for itself (a health check); use the socket's own
   * addresses. v1 has no command: every v1 header is 'proxy', UNKNOWN included.
   */
  command: 'proxy' | 'local';
  /** 'stream' for v1 TCP4/TCP6; 'unspec' for v1 UNKNOWN and v2 AF_UNSPEC. */
  transport: 'stream' | 'dgram' | 'unspec';
  /** null when the header carries no usable address: v1 UNKNOWN, v2 LOCAL, AF_UNSPEC, AF_UNIX. */
  source: ProxyEndpoint | null;
  destination: ProxyEndpoint | null;
}

export type ProxyParse =
  | { kind: 'need-more' }
  | { kind: 'error'; reason: string }
  /** `length`: bytes the header took (for v2, TLVs included); what follows is the client's data. */
  | { kind: 'ok'; length: number; header: ProxyHeader };
