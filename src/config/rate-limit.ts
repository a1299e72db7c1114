/**
 * The `rateLimit` key of a virtual service (and `RuleRateLimitSchema`, the slot a content rule
 * gets): how many requests, new connections and open connections one client may have. The data
 * path (src/limits) reads the resolved RateLimitConfig through src/limits/service-limits.ts,
 * never this schema.
 */
import { z } from 'zod';
import type { ParseResult } from './problem.ts';
import { field, integer, parsedString } from './schema-builders.ts';

/** Resolved: requests (or connections) per second, and the bucket size. */
export interface RateConfig {
  /** Per second; fractional below 1 (100/h is 0.0278). */
  rate: number;
  /** Integer >= 1. */
  burst: number;
}

export interface HeaderRateConfig extends RateConfig {
  /** The header as written in the config; header names compare case-insensitively. */
  name: string;
}

/** A virtual service's rateLimit, resolved; a limit that is not set is null. */
export interface RateLimitConfig {
  perClient: RateConfig | null;
  perHeader: HeaderRateConfig | null;
  connectionRate: RateConfig | null;
  maxConnectionsPerClient: number | null;
  maxTrackedClients: number;
  status: number;
}

/** A content rule's rateLimit, resolved; it uses its virtual service's maxTrackedClients and status. */
export interface RuleRateLimitConfig {
  perClient: RateConfig | null;
  perHeader: HeaderRateConfig | null;
}

const SECONDS_PER = { s: 1, m: 60, h: 3600 } as const;
type RateUnit = keyof typeof SECONDS_PER;

export const RATE_PATTERN = '^[0-9]+(\\.[0-9]+)?/(s|m|h)$';
const RATE_RE = /^([0-9]+(?:\.[0-9]+)?)\/(s|m|h)$/;
export const RATE_ALLOWED = 'a count per second, minute or hour: 50/s, 3000/m, 100/h (decimals allowed: 0.5/s)';
/** A token per hour is the slowest useful rate: Retry-After stays within an hour. */
const MIN_RATE_PER_SECOND = 1 / 3600;
/** 10 million a second is far beyond what one virtual service serves; a larger number is a typo. */
const MAX_RATE_PER_SECOND = 10_000_000;
const MAX_BURST = 1_000_000_000;

/** "50/s", "3000/m", "100/h", "0.5/s" → per second. */
export function parseRate(text: string): ParseResult<number> {
  const match = RATE_RE.exec(text);
  if (match === null) {
    const suggestion = guessRate(text);
    const message = /^[0-9]+(\.[0-9]+)?$/.test(text) ? `"${text}" has no time unit` : `${JSON.stringify(text)} is not a rate`;
    return suggestion === undefined ? { ok: false, message } : { ok: false, message, suggestion };
  }
  const perSecond = Number(match[1]) / SECONDS_PER[match[2] as RateUnit];
  if (perSecond === 0) return { ok: false, message: `"${text}" lets nothing through; a rate must be above 0` };
  if (perSecond < MIN_RATE_PER_SECOND * (1 - 1e-12)) return { ok: false, message: `"${text}" is too slow; the lowest rate is 1/h`, suggestion: '1/h' };
  if (perSecond > MAX_RATE_PER_SECOND) return { ok: false, message: `"${text}" is too fast; the highest rate is 10000000/s` };
  return { ok: true, value: perSecond };
}

const UNIT_WORDS: Record<string, RateUnit> = {
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
};
const PER_WORDS: Record<string, RateUnit> = { rps: 's', rpm: 'm', rph: 'h' };

/** "50/sec" → "50/s", "50 per minute" → "50/m", "100 requests/hour" → "100/h", "50rps" → "50/s", "1,000/s" → "1000/s". */
function guessRate(text: string): string | undefined {
  const compact = text.toLowerCase().replace(/\s+/g, '').replace(/([0-9]),([0-9]{3})/g, '$1$2');
  const worded = /^([0-9]+(?:\.[0-9]+)?)(?:req(?:uests?)?|r|conn(?:ections?)?)?(?:\/|per)([a-z]+)$/.exec(compact);
  const unit = worded !== null ? UNIT_WORDS[worded[2]!] : undefined;
  if (worded !== null && unit !== undefined) return `${worded[1]}/${unit}`;
  const short = /^([0-9]+(?:\.[0-9]+)?)(rps|rpm|rph)$/.exec(compact);
  if (short !== null) return `${short[1]}/${PER_WORDS[short[2]!]}`;
  return undefined;
}

/** RFC 9110 token: what a header name may contain. */
const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

function rateField(what: string) {
  return field(
    parsedString(parseRate, RATE_PATTERN),
    `How many ${what} are let through, on average: a count per second, minute or hour (50/s, 3000/m, 100/h; 0.5/s is one every 2 s).`,
    { noun: 'a rate', allowed: RATE_ALLOWED },
  );
}

function burstField(what: string) {
  return field(
    z.int().min(1).max(MAX_BURST).optional(),
    `How many ${what} may come at once after a quiet spell, before the rate applies (a token bucket this size, refilled at rate). Default: one second's worth of the rate, at least 1.`,
  );
}

type RateInput = { rate: number; burst?: number | undefined };

function resolveRate({ rate, burst }: RateInput): RateConfig {
  return { rate, burst: burst ?? Math.max(1, Math.ceil(rate)) };
}

function rateSchema(what: string) {
  return z.strictObject({ rate: rateField(what), burst: burstField(what) }).transform(resolveRate);
}

const HeaderRateSchema = z
  .strictObject({
    name: field(
      z.string().min(1).max(256).regex(new RegExp(TOKEN_PATTERN)),
      'The request header whose value is counted, e.g. X-Api-Key (compared case-insensitively). Requests without it are not counted by this limit.',
      { noun: 'a header name', allowed: "letters, digits and !#$%&'*+.^_`|~-" },
    ),
    rate: rateField('requests with one value of the header'),
    burst: burstField('requests with one value of the header'),
  })
  .transform(({ name, ...rate }): HeaderRateConfig => ({ name, ...resolveRate(rate) }));

const PER_CLIENT_DESCRIPTION =
  'Requests per client address (HTTP). A request over the limit is answered with status (429) and a Retry-After header (the seconds until the next is let through), without reaching a real server. The client is the connection\'s peer, or the address X-Forwarded-For names when the peer is a trusted proxy.';
const PER_HEADER_DESCRIPTION =
  'Requests per value of a request header, e.g. per API key (HTTP): { name: X-Api-Key, rate: 10/s }. Requests without the header are not counted. Refused like perClient.';

const RateLimitFields = z.strictObject({
  perClient: field(rateSchema('requests of one client').optional(), PER_CLIENT_DESCRIPTION),
  perHeader: field(HeaderRateSchema.optional(), PER_HEADER_DESCRIPTION),
  connectionRate: field(
    rateSchema('new connections of one client').optional(),
    'New connections per client address, every protocol (UDP: new sessions). A connection over the limit is closed at once, before it reaches a real server; a datagram that would open a UDP session over it is dropped.',
  ),
  maxConnectionsPerClient: field(
    z.int().min(1).max(1_000_000).optional(),
    'Most connections one client address may have open at once, every protocol (UDP: sessions). A connection beyond it is closed at once, before it reaches a real server; a datagram that would open a UDP session beyond it is dropped.',
  ),
  maxTrackedClients: integer(
    100,
    10_000_000,
    100_000,
    'Most clients (addresses, header values) each limit tracks; past it the least recently seen is forgotten and starts afresh, so a flood of new addresses cannot grow memory. About 100 bytes per client and limit, in the supervisor and in each worker that sees the client.',
  ),
  status: integer(400, 599, 429, 'HTTP status of the refusal (429 Too Many Requests, RFC 6585); it carries Retry-After in seconds.'),
});

type RateLimitInput = z.output<typeof RateLimitFields>;

function atLeastOneLimit(input: { perClient?: unknown; perHeader?: unknown; connectionRate?: unknown; maxConnectionsPerClient?: unknown }, ctx: z.RefinementCtx, keys: string): void {
  if (input.perClient !== undefined || input.perHeader !== undefined || input.connectionRate !== undefined || input.maxConnectionsPerClient !== undefined) return;
  ctx.addIssue({ code: 'custom', path: [], input, message: `sets no limit; give ${keys}, or remove it` });
}

/** The virtual service's `rateLimit`; absent: no limits. */
export const RateLimitSchema = field(
  RateLimitFields.superRefine((input, ctx) => atLeastOneLimit(input, ctx, 'perClient, perHeader, connectionRate or maxConnectionsPerClient'))
    .transform(
      (input: RateLimitInput): RateLimitConfig => ({
        perClient: input.perClient ?? null,
        perHeader: input.perHeader ?? null,
        connectionRate: input.connectionRate ?? null,
        maxConnectionsPerClient: input.maxConnectionsPerClient ?? null,
        maxTrackedClients: input.maxTrackedClients,
        status: input.status,
      }),
    )
    .optional(),
  'Limits per client that hold for the virtual service as a whole, however many worker processes share it: requests per client (perClient) or per header value (perHeader), new connections per client (connectionRate), open connections per client (maxConnectionsPerClient). A refused HTTP request gets status (429) with Retry-After. Client addresses come from X-Forwarded-For only when the connection is from a trusted proxy.',
);

const RuleRateLimitFields = z.strictObject({
  perClient: field(rateSchema('requests of one client that match the rule').optional(), `${PER_CLIENT_DESCRIPTION} Counted apart from the virtual service's perClient; a request must pass both.`),
  perHeader: field(HeaderRateSchema.optional(), `${PER_HEADER_DESCRIPTION} Counted apart from the virtual service's perHeader.`),
});

/** A content rule's `rateLimit`: perClient and perHeader for the requests the rule matches. */
export const RuleRateLimitSchema = field(
  RuleRateLimitFields.superRefine((input, ctx) => atLeastOneLimit(input, ctx, 'perClient or perHeader'))
    .transform((input): RuleRateLimitConfig => ({ perClient: input.perClient ?? null, perHeader: input.perHeader ?? null }))
    .optional(),
  'Request limits for the requests this rule matches, on top of the virtual service\'s own; they share its maxTrackedClients and status.',
);
