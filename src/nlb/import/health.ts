/**
 * The health check suggested for each imported virtual service. NLB itself checks nothing above
 * the network (a node whose site is down keeps its share), so every service gets one:
 *
 * - tcp: a connection to the real server's port (type tcp); on 80 an HTTP request and on 443 an
 *   HTTPS one, since those ports almost always carry web sites (IIS), where a page tells more
 *   than an open port. A site bound to host names answers a bare-IP request with 400 or 404
 *   (README, "Worked example: the IIS site that every check marked down"), hence the note.
 * - udp: a DNS query on 53; otherwise none, since a datagram service has no connection to test.
 *   Not even when the rule is Both: NLB rules say Both by default, and many UDP services (SIP,
 *   syslog, RADIUS) listen on no TCP port, where a TCP check would mark every server down.
 */
import type { HealthCheckDraft } from './plan.ts';

export interface HealthSuggestion {
  check: HealthCheckDraft | undefined;
  notes: string[];
}

function hostHeaderNote(tls: boolean): string[] {
  return [
    'If the site is bound to host names (IIS host-header bindings), a request for the bare IP gets 400 or 404',
    `and every server is marked down: add host: www.example.com (${tls ? 'also the TLS server name; ' : ''}httpVersion "1.1", the default, sends it).`,
  ];
}

export function suggestHealthCheck(transport: 'tcp' | 'udp', port: number): HealthSuggestion {
  if (transport === 'tcp') {
    if (port === 80) return { check: { type: 'http', path: '/' }, notes: ['HTTP GET / on each real server; up on 2xx, 301, 302 or 401.', ...hostHeaderNote(false)] };
    if (port === 443) {
      return { check: { type: 'https', path: '/' }, notes: ['HTTPS GET / on each real server (certificate not verified); up on 2xx, 301, 302 or 401.', ...hostHeaderNote(true)] };
    }
    return { check: { type: 'tcp' }, notes: ['A TCP connection to each real server\'s port; use http (with a path) if the service has a status page.'] };
  }
  if (port === 53) {
    return { check: { type: 'dns' }, notes: ['A DNS query (NS of the root) to each real server; for an authoritative server set query: a name in its zone.'] };
  }
  return {
    check: undefined,
    notes: ['No health check: a UDP service has no connection to test. Add healthCheck: { type: tcp, port: N } if the', 'servers also listen on a TCP port; until then every real server counts as up, as in NLB.'],
  };
}
