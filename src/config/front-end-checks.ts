/**
 * Checks of a virtual service's front end that need the rest of the config: the pools its rules
 * route to exist (and who uses which pool, for the capability check), no redirect sends a client
 * back where it came from, request limits only on HTTP, a country needs a GeoIP database, and a
 * client certificate condition an https service that asks for certificates.
 */
import type { z } from 'zod';
import type { PoolUser } from './capabilities.ts';
import type { MatchConfig } from './rule-match.ts';
import { redirectLoops } from './rules.ts';
import type { PathSegment } from './problem.ts';
import type { ParsedConfig, ParsedVirtualServiceConfig } from './schema.ts';
import { suggest } from './suggest.ts';
import { CLIENT_CERTIFICATE_HEADERS } from '../tls/client-certificate.ts';

type Issue = (path: PathSegment[], message: string, suggestion?: string) => void;

/**
 * The pools each virtual service's rules use (added to `users`), and every problem of its rules,
 * access list and rate limits, reported through `issue`.
 */
export function checkFrontEnds(config: ParsedConfig, services: readonly ParsedVirtualServiceConfig[], poolNames: ReadonlySet<string>, users: Map<string, PoolUser[]>, issue: Issue): void {
  const geoip = config.geoipDatabase ?? config.gslb?.geoipDatabase ?? null;
  services.forEach((vs, index) => {
    const at: PathSegment[] = ['virtualServices', index];
    if (vs.protocol === 'http' || vs.protocol === 'https') {
      vs.rules.forEach((rule, r) => {
        const ruleAt: PathSegment[] = [...at, 'rules', r];
        if (rule.pool !== undefined) {
          if (!poolNames.has(rule.pool)) {
            const known = [...poolNames];
            issue([...ruleAt, 'pool'], `rule "${rule.name}" routes to pool "${rule.pool}", which does not exist; the pools are ${known.join(', ')}`, suggest(rule.pool, known));
          } else {
            const list = users.get(rule.pool) ?? [];
            list.push({ protocol: vs.protocol, virtualService: vs.name, rule: rule.name });
            users.set(rule.pool, list);
          }
        }
        const loop = redirectLoops(rule, vs.protocol, vs.listen.port);
        if (loop !== null) issue([...ruleAt, 'redirect', 'to'], loop);
        if (usesClientCertificate(rule.match) && (vs.protocol !== 'https' || vs.tls.clientAuth.mode === 'none')) {
          issue(
            [...ruleAt, 'match'],
            vs.protocol === 'https'
              ? `rule "${rule.name}" matches on clientCertificate, and this service asks clients for none: set tls.clientAuth (mode optional or required, and ca)`
              : `rule "${rule.name}" matches on clientCertificate, which only an https virtual service with tls.clientAuth has`,
          );
        }
        // A rule reads the request as the client sent it: there X-SSL-Client-* is the client's own
        // (replaced only on the way to the real server), so a header condition on it could be forged.
        const forgeable = vs.protocol === 'https' && vs.tls.clientAuth.mode !== 'none' ? clientCertificateHeaderIn(rule.match) : null;
        if (forgeable !== null) {
          issue([...ruleAt, 'match'], `rule "${rule.name}" matches the header ${forgeable}, which rules see as the client wrote it; match clientCertificate: { verified, subject } instead`);
        }
        if (geoip === null && (usesCountry(rule.match) || (rule.access?.allowCountries ?? rule.access?.denyCountries) !== undefined)) {
          issue([...ruleAt, rule.access?.allowCountries !== undefined || rule.access?.denyCountries !== undefined ? 'access' : 'match'], COUNTRY_NEEDS_GEOIP);
        }
      });
    } else if (vs.rateLimit !== undefined) {
      for (const key of ['perClient', 'perHeader'] as const) {
        if (vs.rateLimit[key] !== null) {
          issue([...at, 'rateLimit', key], `${key} limits HTTP requests; a ${vs.protocol} virtual service has connections, not requests: use connectionRate or maxConnectionsPerClient`);
        }
      }
    }
    const access = vs.access;
    if (geoip === null && access !== undefined && (access.allowCountries !== undefined || access.denyCountries !== undefined)) {
      issue([...at, 'access'], COUNTRY_NEEDS_GEOIP);
    }
  });
}

const COUNTRY_NEEDS_GEOIP =
  'a country needs a GeoIP database to tell where a client is: set geoipDatabase (a MaxMind .mmdb file, e.g. GeoLite2-Country.mmdb) at the top of the config';

function usesClientCertificate(match: MatchConfig): boolean {
  if (match.clientCertificate !== undefined) return true;
  if (match.all?.some(usesClientCertificate) === true || match.any?.some(usesClientCertificate) === true) return true;
  return match.not !== undefined && usesClientCertificate(match.not);
}

const CERTIFICATE_HEADERS: ReadonlySet<string> = new Set(CLIENT_CERTIFICATE_HEADERS);

function clientCertificateHeaderIn(match: MatchConfig): string | null {
  if (match.header !== undefined && CERTIFICATE_HEADERS.has(match.header.name)) return match.header.name;
  for (const inner of [...(match.all ?? []), ...(match.any ?? []), ...(match.not === undefined ? [] : [match.not])]) {
    const found = clientCertificateHeaderIn(inner);
    if (found !== null) return found;
  }
  return null;
}

function usesCountry(match: MatchConfig): boolean {
  if (match.country !== undefined) return true;
  if (match.all?.some(usesCountry) === true || match.any?.some(usesCountry) === true) return true;
  return match.not !== undefined && usesCountry(match.not);
}
