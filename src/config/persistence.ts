/**
 * The `persistence` and `drainTimeout` keys of a virtual service: which request property keeps a
 * client on one real server, for how long, and what to use when the request lacks it. Kept apart
 * from schema.ts because each type has its own required and forbidden keys; schema.ts places
 * these in the virtual service. The data path (src/persistence) reads the resolved
 * PersistenceConfig and never this module's schema.
 */
import { z } from 'zod';
import { DURATION_ALLOWED, DURATION_PATTERN, parseDurationOrZero } from './duration.ts';
import type { ParseResult } from './problem.ts';
import { field, parsedString } from './schema-builders.ts';

import { PERSISTENCE_REGISTRY, PERSISTENCE_TYPES, type PersistenceType } from '../persistence/registry.ts';
export { PERSISTENCE_TYPES, type PersistenceType };

/**
 * A fallback is consulted while the request is read, before any response: so it cannot be a
 * cookie, which needs a response to set (active) or to learn (server).
 */
export const FALLBACK_TYPES = ['source-ip', 'header', 'url-hash', 'query-item'] as const;
export type FallbackType = (typeof FALLBACK_TYPES)[number];

/** KEMP LoadMaster's longest persistence timeout, which its users know. */
export const MAX_PERSISTENCE_TIMEOUT_MS = 7 * 86_400_000;
export const DEFAULT_COOKIE_NAME = 'FULCRUMID';
/** A shorter HMAC key could be guessed offline from one cookie value. */
const MIN_SECRET_LENGTH = 16;

/** Persistence of one virtual service, resolved: defaults applied, keys the types do not use left null. */
export interface PersistenceConfig {
  type: PersistenceType;
  /** Used when the request carries no key for `type` (or an unknown or forged cookie); null: the scheduler decides. */
  fallback: FallbackType | null;
  /** The cookie for active-cookie (default FULCRUMID) and server-cookie; null for other types. */
  cookieName: string | null;
  /** HMAC key for active-cookie values; null: FULCRUM_COOKIE_SECRET, else derived from the virtual service name. */
  cookieSecret: string | null;
  headerName: string | null;
  queryItem: string | null;
  /** Prefix lengths source-ip keys on: IPv4 (default 32) and IPv6 (default 128). */
  sourceMask: number;
  sourceMask6: number;
  /** Milliseconds a client stays persisted after its last request; 0: no expiry (a session cookie, entries leave only by eviction). */
  timeout: number;
  /** Most entries in each persistence table; the least recently used goes first. */
  maxEntries: number;
}



export function parsePersistenceTimeout(text: string): ParseResult<number> {
  const parsed = parseDurationOrZero(text);
  if (!parsed.ok) return parsed;
  const ms = parsed.value;
  if (ms > MAX_PERSISTENCE_TIMEOUT_MS) return { ok: false, message: `"${text}" is too long; the longest persistence timeout is 7d`, suggestion: '7d' };
  // The active cookie counts its expiry in whole seconds.
  if (ms > 0 && ms < 1000) return { ok: false, message: `"${text}" is too short; a persistence timeout is at least 1s (or 0s for none)`, suggestion: '1s' };
  return { ok: true, value: ms };
}

/** RFC 9110 token: header names, and RFC 6265 cookie names (cookie-name is a token too). */
const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** A query parameter name as it appears in the URL: visible ASCII without the separators & = # ?. */
const QUERY_ITEM_PATTERN = '^[!-~]+$';
const QUERY_ITEM_FORBIDDEN = /[&=#?]/;

const PersistenceFields = z
  .strictObject({
    type: field(
      z.enum(PERSISTENCE_TYPES),
      `What keeps a client on one real server. ${PERSISTENCE_REGISTRY.map((m) => `${m.type}: ${m.description}`).join(' ')}`,
      { noun: 'a persistence type' },
    ),
    timeout: field(
      parsedString(parsePersistenceTimeout, DURATION_PATTERN).prefault('30m'),
      'How long a client stays on its real server after its last request (at most 7d). The active cookie gets it as Max-Age. 0s: no expiry (active-cookie: a session cookie; tables: entries leave only by eviction).',
      { noun: 'a duration', allowed: `0s, or ${DURATION_ALLOWED}, at most 7d` },
    ),
    fallback: field(
      z.enum(FALLBACK_TYPES).optional(),
      'The type used when a request lacks the key of type (no cookie, a forged or expired one, no header or query item), e.g. active-cookie with fallback source-ip (KEMP\'s "active cookie or source IP"). Without one, the scheduler chooses.',
      { noun: 'a fallback persistence type', allowed: FALLBACK_TYPES.join(', ') },
    ),
    cookieName: field(
      z.string().max(64).regex(new RegExp(TOKEN_PATTERN)).optional(),
      'active-cookie: the name of the cookie Fulcrum inserts (default FULCRUMID). server-cookie: the name of the application\'s session cookie to learn (required), e.g. JSESSIONID, PHPSESSID, ASP.NET_SessionId.',
      { noun: 'a cookie name', allowed: 'letters, digits and !#$%&\'*+.^_`|~-' },
    ),
    cookieSecret: field(
      z.string().max(1024).optional(),
      'active-cookie: the HMAC key that signs cookie values; give every Fulcrum node the same one. Default: the FULCRUM_COOKIE_SECRET environment variable, else a key derived from the virtual service name (values stay opaque, but anyone who knows the name and the servers could forge one).',
      { noun: 'a secret', allowed: 'text of 16 to 1024 characters' },
    ),
    headerName: field(
      z.string().max(256).regex(new RegExp(TOKEN_PATTERN)).optional(),
      'header (type or fallback): the request header whose value keys persistence, e.g. X-Session-Id (compared case-insensitively). Required for that type.',
      { noun: 'a header name', allowed: 'letters, digits and !#$%&\'*+.^_`|~-' },
    ),
    queryItem: field(
      z.string().max(256).regex(new RegExp(QUERY_ITEM_PATTERN)).optional(),
      'query-item (type or fallback): the query parameter whose value keys persistence, e.g. sid for /app?sid=42. Required for that type.',
      { noun: 'a query parameter name', allowed: 'visible characters except & = # ?' },
    ),
    sourceMask: field(
      z.int().min(1).max(32).optional(),
      'source-ip (type or fallback): the IPv4 prefix length that keys persistence (default 32: the address). 24 keeps a whole /24 on one server, as Windows NLB\'s "network" (class C) affinity does.',
    ),
    sourceMask6: field(z.int().min(1).max(128).optional(), 'source-ip (type or fallback): the IPv6 prefix length that keys persistence (default 128: the address; 64 keeps a subnet together).'),
    maxEntries: field(
      z.int().min(1).max(10_000_000).default(100_000),
      'Most clients each persistence table holds (source-ip, server-cookie, header, query-item, and the fallback\'s); past it the least recently used entry goes, so a flood of new clients cannot grow memory. About 150 bytes per entry with a short key.',
    ),
  });

const PersistenceObjectSchema = PersistenceFields.transform(resolvePersistence);

/** The virtual service's `persistence`: off (default), or one of the types. */
export const PersistenceSchema = field(
  z.union([z.literal(false), z.literal('off').transform((): false => false), PersistenceObjectSchema]).default(false),
  'Keep each client on the same real server across requests and connections. Persistence respects health: a client whose server is down, disabled or ejected moves (and an active cookie is rewritten); a draining server keeps its persisted clients until their persistence expires or drainTimeout ends. off by default.',
  { noun: 'a persistence setting', allowed: 'off, or { type, timeout, fallback, ... }' },
);

/** The virtual service's `drainTimeout`. */
export const DrainTimeoutSchema = field(
  parsedString(parseDurationOrZero, DURATION_PATTERN).prefault('0s'),
  'How long clients persisted to a draining real server may keep reaching it, from the moment it starts draining. 0s: until their persistence expires (a draining server\'s entries and cookies are no longer refreshed, so that is at most persistence.timeout).',
  { noun: 'a duration', allowed: `0s, or ${DURATION_ALLOWED}` },
);

type PersistenceInput = z.output<typeof PersistenceFields>;

/** The type-specific keys, and which types use each. */
const KEY_USERS: Record<'cookieName' | 'cookieSecret' | 'headerName' | 'queryItem' | 'sourceMask' | 'sourceMask6', readonly PersistenceType[]> = {
  cookieName: ['active-cookie', 'server-cookie'],
  cookieSecret: ['active-cookie'],
  headerName: ['header'],
  queryItem: ['query-item'],
  sourceMask: ['source-ip'],
  sourceMask6: ['source-ip'],
};

/** A request always has these keys, so a fallback behind them would never run. */
const ALWAYS_KEYED: Partial<Record<PersistenceType, string>> = {
  'source-ip': 'every request has a client address',
  'url-hash': 'every request has a path',
};

function resolvePersistence(input: PersistenceInput, ctx: z.RefinementCtx): PersistenceConfig {
  const { type, fallback } = input;
  const problem = (key: string, message: string): void => {
    ctx.addIssue({ code: 'custom', message, path: [key], input: undefined });
  };
  const uses = (t: PersistenceType): boolean => type === t || fallback === t;
  const described = fallback === undefined ? `type ${type}` : `type ${type} with fallback ${fallback}`;

  if (fallback !== undefined) {
    if (fallback === type) problem('fallback', `fallback ${fallback} is the same as type; remove fallback, or pick another type for requests without a ${type} key`);
    else if (ALWAYS_KEYED[type] !== undefined) problem('fallback', `fallback ${fallback} would never apply: ${ALWAYS_KEYED[type]}; remove fallback`);
  }
  for (const [key, users] of Object.entries(KEY_USERS) as [keyof typeof KEY_USERS, readonly PersistenceType[]][]) {
    if (input[key] !== undefined && !users.some(uses)) {
      problem(key, `${key} applies to persistence type ${users.join(' or ')} only, and this is ${described}; remove it, or change type`);
    }
  }
  // A missing required key is reported at the type (or fallback) that needs it, with an example.
  const needs = (t: PersistenceType, key: keyof typeof KEY_USERS, example: string): void => {
    if (!uses(t) || input[key] !== undefined) return;
    problem(type === t ? 'type' : 'fallback', `persistence type ${t} needs ${key}, e.g. ${key}: ${example}`);
  };
  needs('header', 'headerName', 'X-Session-Id');
  needs('query-item', 'queryItem', 'sid');
  if (type === 'server-cookie' && input.cookieName === undefined) {
    problem('type', 'persistence type server-cookie needs cookieName, the name of the application\'s session cookie, e.g. cookieName: JSESSIONID');
  }
  if (input.cookieSecret !== undefined && input.cookieSecret.length < MIN_SECRET_LENGTH) {
    problem('cookieSecret', `the cookie secret has ${input.cookieSecret.length} characters; use at least ${MIN_SECRET_LENGTH} random ones (e.g. the output of: openssl rand -base64 24), or leave it out`);
  }
  if (input.queryItem !== undefined && QUERY_ITEM_FORBIDDEN.test(input.queryItem)) {
    problem('queryItem', `${JSON.stringify(input.queryItem)} contains one of & = # ?, which separate query parameters; give the parameter name alone, e.g. sid`);
  }

  return {
    type,
    fallback: fallback ?? null,
    cookieName: uses('active-cookie') ? (input.cookieName ?? DEFAULT_COOKIE_NAME) : (input.cookieName ?? null),
    cookieSecret: input.cookieSecret ?? null,
    headerName: input.headerName ?? null,
    queryItem: input.queryItem ?? null,
    sourceMask: input.sourceMask ?? 32,
    sourceMask6: input.sourceMask6 ?? 128,
    timeout: input.timeout,
    maxEntries: input.maxEntries,
  };
}
