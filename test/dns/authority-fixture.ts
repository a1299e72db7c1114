// The answer engine built from a gslb config the way the server will build it: FqdnState per
// FQDN (checks' fall, rise, startAs), the locations table, a serial. Shared by the engine's
// tests and bench/dns-authority.ts.
import { readFileSync } from 'node:fs';
import type { GslbConfig } from '../../src/config/gslb.ts';
import { loadConfigText } from '../../src/config/load.ts';
import { AuthorityEngine } from '../../src/dns/authority.ts';
import { FqdnState } from '../../src/gslb/fqdn-state.ts';
import { locationTableOf, thresholdsOf, toGslbFqdn } from '../../src/gslb/from-config.ts';

export const SAMPLE = new URL('../../examples/gslb.yaml', import.meta.url).pathname;

export function loadGslb(text: string): GslbConfig {
  const result = loadConfigText(text, 'gslb.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  if (result.config.gslb === undefined) throw new Error('no gslb section');
  return result.config.gslb;
}

export function sampleText(): string {
  return readFileSync(SAMPLE, 'utf8');
}

export interface Built {
  gslb: GslbConfig;
  engine: AuthorityEngine;
  states: Map<string, FqdnState>;
}

export function buildEngine(gslb: GslbConfig, serial = 1): Built {
  const states = new Map(
    gslb.fqdns.map((fqdn) => [
      fqdn.name,
      new FqdnState(toGslbFqdn(fqdn), fqdn.sites.map(thresholdsOf)),
    ]),
  );
  const engine = new AuthorityEngine({
    zones: gslb.zones,
    fqdns: gslb.fqdns,
    selectors: new Map([...states].map(([name, state]) => [name, state.selector])),
    locations: locationTableOf(gslb),
    serial,
  });
  return { gslb, engine, states };
}
