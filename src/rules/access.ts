/**
 * A rule's access list: who may use what the rule serves, by client network and country.
 * Deny wins: a client in a deny list is refused even when an allow list names it too. With any
 * allow list (networks or countries), a client in none of them is refused; a client whose
 * address or country is unknown is in no list.
 */
import type { AccessConfig } from '../config/rule-actions.ts';
import { CidrSet } from '../ip/cidr-set.ts';
import type { MatchInput } from './types.ts';

export interface CompiledAccess {
  /** The status of the refusal. */
  readonly status: number;
  allows(input: MatchInput): boolean;
}

export function compileAccess(config: AccessConfig): CompiledAccess {
  const allow = config.allow === undefined ? null : CidrSet.fromText(config.allow);
  const deny = config.deny === undefined ? null : CidrSet.fromText(config.deny);
  const allowCountries = config.allowCountries === undefined ? null : new Set(config.allowCountries);
  const denyCountries = config.denyCountries === undefined ? null : new Set(config.denyCountries);
  const needsCountry = allowCountries !== null || denyCountries !== null;
  const hasAllowList = allow !== null || allowCountries !== null;
  return {
    status: config.status,
    allows(input: MatchInput): boolean {
      const family = input.clientFamily;
      const bytes = input.clientBytes;
      // The GeoIP lookup only when a country list needs it.
      const country = needsCountry ? input.country() : null;
      if (deny !== null && deny.has(family, bytes)) return false;
      if (denyCountries !== null && country !== null && denyCountries.has(country)) return false;
      if (!hasAllowList) return true;
      if (allow !== null && allow.has(family, bytes)) return true;
      return allowCountries !== null && country !== null && allowCountries.has(country);
    },
  };
}
