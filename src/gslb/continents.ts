/**
 * ISO 3166-1 alpha-2 country -> continent, so a site written with only `continent: EU` serves a
 * client located by `country: BE`. The assignment is GeoNames' (which MaxMind's databases
 * follow for these codes): countries that span two continents sit where their capital is, e.g.
 * RU in EU, TR, AM, AZ, GE and KZ in AS, CY in EU, EG in AF, TL in OC.
 */
import type { Continent } from './types.ts';

const BY_CONTINENT: Record<Continent, string> = {
  AF: 'AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW',
  AN: 'AQ BV GS HM TF',
  AS: 'AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE',
  EU: 'AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK',
  NA: 'AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI',
  OC: 'AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF WS',
  SA: 'AR BO BR CL CO EC FK GF GY PE PY SR UY VE',
};

const CONTINENT_OF: ReadonlyMap<string, Continent> = new Map(
  (Object.entries(BY_CONTINENT) as [Continent, string][]).flatMap(([continent, codes]) => codes.split(' ').map((code) => [code, continent] as const)),
);

/** Codes people write that are not ISO 3166-1 alpha-2, with the code they mean (for a config hint). */
export const COUNTRY_ALIASES: Readonly<Record<string, string>> = { UK: 'GB', EL: 'GR' };

/** The continent of an ISO 3166-1 alpha-2 code (any case); null when the code is unknown. */
export function continentOf(country: string): Continent | null {
  return CONTINENT_OF.get(country.toUpperCase()) ?? null;
}

export function isCountryCode(text: string): boolean {
  return CONTINENT_OF.has(text.toUpperCase());
}
