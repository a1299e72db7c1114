/**
 * The real programs the interop suite and the bench talk to. A missing peer is a failure with the
 * command that installs it, never a skip: a suite that skips its peers proves nothing.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type Peer =
  | 'curl'
  | 'wrk'
  | 'nginx'
  | 'haproxy'
  | 'taskset'
  // the Layer 4 suite: FTP server and client, bulk TCP, DNS server and client, NTRIP, certificates
  | 'vsftpd'
  | 'lftp'
  | 'iperf3'
  | 'unbound'
  | 'dig'
  | 'str2str'
  | 'openssl'
  // a syslog client over UDP (util-linux's logger, Debian bsdutils)
  | 'logger'
  // GSLB: a second DNS client, the icmp site check, the DNS load generator and the reference server
  | 'kdig'
  | 'ping'
  | 'dnsperf'
  | 'gdnsd'
  // GeoIP: MaxMind's C reader, to check the test database writer
  | 'mmdblookup'
  // the bench's paced load generator (nghttp2-client), for latency at a fixed request rate
  | 'h2load'
  // ACME: Let's Encrypt's test CA and its mock DNS server (Debian package pebble)
  | 'pebble'
  | 'pebble-challtestsrv'
  // HTTP/2: nghttp (nghttp2-client) shows the frames
  | 'nghttp'
  // the management plane: Prometheus's linter for GET /metrics, and the browser the console tests drive
  | 'promtool'
  | 'chromium';

// nginx, haproxy, vsftpd and unbound install to /usr/sbin, which a non-root PATH often lacks.
const extraDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

const found = new Map<string, string>();

/** Absolute path of `name`, or throws `interop peer 'NAME' is missing: run bash scripts/install-peers.sh`. */
export function peer(name: Peer | (string & {})): string {
  const cached = found.get(name);
  if (cached !== undefined) return cached;
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== ''), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`interop peer '${name}' is missing: run bash scripts/install-peers.sh`);
}

/** Checks several peers at once; throws for the first one missing. */
export function requirePeers(...names: Peer[]): void {
  for (const name of names) peer(name);
}
