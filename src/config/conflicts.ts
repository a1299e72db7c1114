/**
 * Checks across entries that one field's schema cannot see: unique virtual service names,
 * listen addresses that would collide, and real servers listed twice.
 */
import { ErrorCode } from '../errors.ts';
import { formatAddress, type HostPort } from './address.ts';
import type { ConfigIssue } from './problem.ts';
import type { Config, RealServerState } from './schema.ts';
import { transportOf } from './service-fields.ts';

export function findConflicts(config: Config): ConfigIssue[] {
  return [
    ...duplicateNames(config),
    ...listenConflicts(config),
    ...gslbListenConflicts(config),
    ...duplicateRealServers(config),
    ...contradictoryStates(config),
    ...redirectWithBody(config),
    ...rulesBesideRedirectToHttps(config),
  ];
}

/**
 * The DNS server listens on UDP and TCP at each gslb.listen address, so it collides with a udp
 * virtual service on the UDP side and with any other (and the admin API) on the TCP side.
 */
function gslbListenConflicts(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.gslb?.listen.forEach((address, index) => {
    const path = ['gslb', 'listen', index];
    const vsIndex = config.virtualServices.findIndex((vs) => overlap(vs.listen, address) !== null);
    const vs = config.virtualServices[vsIndex];
    if (vs !== undefined) {
      const transport = vs.protocol === 'udp' ? 'UDP' : 'TCP';
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path,
        target: 'value',
        message: `the DNS server's ${formatAddress(address)} (UDP and TCP) ${overlap(vs.listen, address) === 'same' ? 'is also' : 'overlaps'} where ${vs.protocol} virtual service "${vs.name}" listens on ${transport} (${formatAddress(vs.listen)}); give one of them another address or port`,
        related: ['virtualServices', vsIndex, 'listen'],
      });
    }
    const admin = config.admin?.listen;
    if (admin !== undefined && overlap(admin, address) !== null) {
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path,
        target: 'value',
        message: `the DNS server's ${formatAddress(address)} (UDP and TCP) is also where the admin API listens (${formatAddress(admin)}); give the admin API its own port`,
        related: ['admin', 'listen'],
      });
    }
  });
  return issues;
}

/** notAvailable is either a redirect or a status with a body; both would leave one silently unused. */
function redirectWithBody(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.virtualServices.forEach((vs, v) => {
    if (vs.protocol !== 'http' && vs.protocol !== 'https') return;
    const na = vs.notAvailable;
    if (na.redirect !== undefined && na.body !== undefined) {
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path: ['virtualServices', v, 'notAvailable', 'redirect'],
        target: 'value',
        message: 'notAvailable has both redirect and body; a redirect (302) carries no body: keep one of the two',
      });
    }
  });
  return issues;
}

/** A redirectToHttps service answers every request with the redirect: its rules would never run. */
function rulesBesideRedirectToHttps(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.virtualServices.forEach((vs, v) => {
    if (vs.protocol !== 'http' || vs.redirectToHttps === undefined || vs.rules.length === 0) return;
    issues.push({
      code: ErrorCode.CONFIG_CONFLICT,
      path: ['virtualServices', v, 'rules'],
      target: 'key',
      message: `virtual service "${vs.name}" redirects every request to HTTPS (redirectToHttps), so its rules would never run; put them on the https virtual service`,
      related: ['virtualServices', v, 'redirectToHttps'],
    });
  });
  return issues;
}

/** `enabled: false` is the short form of `state: disabled`; both at once must agree. */
function contradictoryStates(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.pools.forEach((pool) => {
    pool.realServers.forEach((rs, r) => {
      if (!rs.enabled && rs.state !== undefined && rs.state !== 'disabled') {
        issues.push({
          code: ErrorCode.CONFIG_CONFLICT,
          path: [...pool.at, 'realServers', r, 'state'],
          target: 'value',
          message: `state "${rs.state}" contradicts "enabled: false"; keep one of the two (enabled: false is the same as state: disabled)`,
        });
      }
    });
  });
  return issues;
}

/** The state a real server's config asks for, from `state` or the older `enabled`. */
export function realServerState(rs: { enabled: boolean; state?: RealServerState | undefined }): RealServerState {
  return rs.state ?? (rs.enabled ? 'enabled' : 'disabled');
}

function duplicateNames(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const firstByName = new Map<string, number>();
  config.virtualServices.forEach((vs, index) => {
    const first = firstByName.get(vs.name);
    if (first === undefined) {
      firstByName.set(vs.name, index);
      return;
    }
    issues.push({
      code: ErrorCode.CONFIG_CONFLICT,
      path: ['virtualServices', index, 'name'],
      target: 'value',
      message: `virtual service name "${vs.name}" is already used; names must be unique because logs, metrics and the API address a virtual service by name`,
      related: ['virtualServices', first, 'name'],
    });
  });
  return issues;
}

/**
 * Two virtual services must not claim the same address and port: one would fail to bind, or,
 * with port reuse, each would get a random share of the other's clients. The same trap as two
 * hosts with one IP address, familiar from Windows NLB clusters.
 */
function listenConflicts(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const services = config.virtualServices;
  const admin = config.admin?.listen;
  if (admin !== undefined) {
    const clash = services.findIndex((vs) => transportOf(vs) === 'tcp' && overlap(vs.listen, admin) !== null);
    if (clash >= 0) {
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path: ['admin', 'listen'],
        target: 'value',
        message: `the admin API's ${formatAddress(admin)} is also where virtual service "${services[clash]!.name}" listens (${formatAddress(services[clash]!.listen)}); give the admin API its own port, on loopback or a management network`,
        related: ['virtualServices', clash, 'listen'],
      });
    }
  }
  // UDP and TCP ports are separate: a DNS or syslog service may share its port number with a TCP one.
  services.forEach((vs, index) => {
    const earlier = services.findIndex((other, otherIndex) => otherIndex < index && transportOf(other) === transportOf(vs) && overlap(other.listen, vs.listen) !== null);
    const other = services[earlier];
    if (other === undefined) return;
    const kind = overlap(other.listen, vs.listen);
    const mine = formatAddress(vs.listen);
    const theirs = formatAddress(other.listen);
    const message =
      kind === 'same'
        ? `${mine} is also the listen address of virtual service "${other.name}"; give each virtual service its own address and port`
        : `${mine} overlaps virtual service "${other.name}" on ${theirs}: ${wildcardText(vs.listen, other.listen)}, so both claim port ${vs.listen.port}; use another port, or specific addresses on both`;
    issues.push({
      code: ErrorCode.CONFIG_CONFLICT,
      path: ['virtualServices', index, 'listen'],
      target: 'value',
      message,
      related: ['virtualServices', earlier, 'listen'],
    });
  });
  issues.push(...passivePortConflicts(config), ...portFollowingWorkers(config));
  return issues;
}

/** An FTP service's passive ports are TCP listeners too: no other service (or FTP range) may use one. */
function passivePortConflicts(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const services = config.virtualServices;
  services.forEach((vs, index) => {
    if (vs.protocol !== 'ftp') return;
    const { first, last } = vs.ftp.passivePorts;
    const inRange = (port: number): boolean => port >= first && port <= last;
    services.forEach((other, otherIndex) => {
      if (otherIndex === index || transportOf(other) === 'udp') return;
      const listenClash = inRange(other.listen.port) && overlap({ ...other.listen }, { host: vs.listen.host, port: other.listen.port }) !== null;
      const rangeClash = other.protocol === 'ftp' && otherIndex < index && other.ftp.passivePorts.first <= last && other.ftp.passivePorts.last >= first && overlap(other.listen, { ...vs.listen, port: other.listen.port }) !== null;
      if (!listenClash && !rangeClash) return;
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path: ['virtualServices', index, 'ftp', 'passivePorts'],
        target: 'value',
        message: listenClash
          ? `passive ports ${first}-${last} include ${other.listen.port}, where virtual service "${other.name}" listens; choose a range without it`
          : `passive ports ${first}-${last} overlap those of FTP virtual service "${other.name}"; give each FTP service its own range`,
        related: ['virtualServices', otherIndex, listenClash ? 'listen' : 'ftp'],
      });
    });
  });
  return issues;
}

/**
 * port-following sends a data connection to the server holding the client's control connection;
 * with several workers that connection may have landed in another worker, and only the source-ip
 * hash (the same in every worker) can tell which server holds it.
 */
function portFollowingWorkers(config: Config): ConfigIssue[] {
  if (config.workers === 1) return [];
  const issues: ConfigIssue[] = [];
  config.virtualServices.forEach((vs, index) => {
    if (vs.protocol !== 'ftp' || vs.ftp.mode !== 'port-following') return;
    const persistence = config.pools.find((p) => p.name === vs.pool)?.persistence ?? false;
    if (persistence !== false && persistence.type === 'source-ip') return;
    issues.push({
      code: ErrorCode.CONFIG_CONFLICT,
      path: ['virtualServices', index, 'ftp', 'mode'],
      target: 'value',
      message: `ftp mode port-following with workers: ${config.workers} needs persistence: { type: source-ip }, so that every worker sends a client's data connections to the server holding its control connection; add it, or run workers: 1`,
    });
  });
  return issues;
}

function duplicateRealServers(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.pools.forEach((pool) => {
    const firstByAddress = new Map<string, number>();
    pool.realServers.forEach((rs, rsIndex) => {
      const key = formatAddress(rs.address);
      const first = firstByAddress.get(key);
      if (first === undefined) {
        firstByAddress.set(key, rsIndex);
        return;
      }
      issues.push({
        code: ErrorCode.CONFIG_CONFLICT,
        path: [...pool.at, 'realServers', rsIndex, 'address'],
        target: 'value',
        message: `real server ${key} is listed twice in ${pool.inline ? 'virtual service' : 'pool'} "${pool.name}"; list it once and set its weight instead`,
        related: [...pool.at, 'realServers', first, 'address'],
      });
    });
  });
  return issues;
}

const IPV4_ANY = '0.0.0.0';
const IPV6_ANY = '::';

/**
 * 'same' for one address, 'wildcard' when one side listens on every address that the other
 * uses. [::] covers IPv4 too because Node listens dual-stack by default (ipv6Only: false).
 * Host names are assumed to resolve into the wildcard's family; localhost is 127.0.0.1 and ::1.
 */
function overlap(a: HostPort, b: HostPort): 'same' | 'wildcard' | null {
  if (a.port !== b.port) return null;
  const hostsA = aliases(a.host);
  if (aliases(b.host).some((host) => hostsA.includes(host))) return 'same';
  if (covers(a.host, b.host) || covers(b.host, a.host)) return 'wildcard';
  return null;
}

function covers(wildcard: string, host: string): boolean {
  if (wildcard === IPV6_ANY) return true;
  return wildcard === IPV4_ANY && !host.includes(':');
}

function aliases(host: string): string[] {
  return host === 'localhost' ? ['localhost', '127.0.0.1', '::1'] : [host];
}

function wildcardText(a: HostPort, b: HostPort): string {
  if (a.host === IPV6_ANY || b.host === IPV6_ANY) return ':: listens on every IPv6 and IPv4 address';
  return '0.0.0.0 listens on every IPv4 address';
}
