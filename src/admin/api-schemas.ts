/**
 * The admin API's own request and response bodies (everything that is not config: sessions,
 * users, tokens, versions, audit, errors, status), as zod schemas. The handlers validate request
 * bodies with them (validateBody), and openapi.ts turns the same schemas into the document's
 * components, so a body and its documentation cannot disagree. Config bodies (a virtual service,
 * a pool, ...) come from the config schema instead (see openapi.ts).
 *
 * Request bodies are strict (an unknown key is an error with a did-you-mean, as in the config);
 * response bodies of deep runtime state are loose: they describe the main fields and let the
 * supervisor add more without breaking a client that validates.
 */
import { z } from 'zod';
import { ErrorCode } from '../errors.ts';
import { REAL_SERVER_STATES } from '../config/schema.ts';
import { issuesFromZod } from '../config/issues.ts';
import { field } from '../config/schema-builders.ts';
import type { PathSegment } from '../config/problem.ts';
import { ROLES } from './roles.ts';

/** Every API body with a name in the OpenAPI document's components (openapi.ts reads it). */
export const apiSchemas = z.registry<{ id: string }>();

function named<T extends z.ZodType>(id: string, schema: T): T {
  apiSchemas.add(schema, { id });
  return schema;
}

const isoTime = (description: string) => z.iso.datetime({ offset: true }).describe(description);
const RoleSchema = z.enum(ROLES).describe('viewer reads; operator also enables, disables and drains real servers and recovers GSLB sites; admin does everything.');

// --- errors ---------------------------------------------------------------------------------

export const ProblemSchema = named(
  'Problem',
  z.object({
    path: z.string().describe('The JSON path of the problem in the request body or the config, e.g. $.virtualServices[0].listen; "$" for the whole document.'),
    message: z.string().describe('What is wrong, in words.'),
    line: z.int().min(1).optional().describe('For a config sent as YAML text: the 1-based line of the problem.'),
    column: z.int().min(1).optional().describe('For a config sent as YAML text: the 1-based column of the problem.'),
    allowed: z.string().optional().describe('What would be accepted there.'),
    suggestion: z.string().optional().describe('The likely intended key or value (did you mean ...?).'),
    code: z.string().optional().describe('The stable code of this problem (FULCRUM_ERR_...).'),
  }),
);

export const ErrorSchema = named(
  'Error',
  z.object({
    error: z.object({
      code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]).describe('A stable code scripts may match on.'),
      message: z.string().describe('What went wrong and what to do.'),
      suggestion: z.string().optional().describe('Did you mean ...?'),
      allowed: z.array(z.string()).optional().describe('What would be accepted.'),
      problems: z.array(ProblemSchema).optional().describe('Every problem of a body or config that would not validate, each with its JSON path.'),
    }),
  }),
);

// --- sessions and users ---------------------------------------------------------------------

export const LoginSchema = named(
  'Login',
  z.strictObject({
    user: z.string().min(1).max(128).describe('The user name.'),
    password: z.string().min(1).max(1024).describe('The password.'),
  }),
);

export const SessionSchema = named(
  'Session',
  z.object({
    user: z.string(),
    role: RoleSchema,
    via: z.literal('session'),
    csrfToken: z.string().describe('Echo it in X-CSRF-Token on every POST, PUT, PATCH and DELETE made with the session cookie.'),
    expiresAt: isoTime('When the session ends at the latest (12 hours after the login); 30 minutes without a request end it sooner.'),
  }),
);

export const WhoAmISchema = named(
  'WhoAmI',
  z.object({
    user: z.string().describe('The user; for a token, its owner; "local" on an API without users (loopback only).'),
    role: RoleSchema,
    via: z.enum(['session', 'token', 'loopback']).describe('How the request was authenticated.'),
    csrfToken: z.string().optional().describe('The session\'s CSRF token (via session only).'),
  }),
);

export const UserSchema = named(
  'User',
  z.object({
    name: z.string(),
    role: RoleSchema,
    createdAt: isoTime('When the user was created.'),
    lastLogin: isoTime('The last successful login.').nullable(),
  }),
);
export const UserListSchema = named('UserList', z.array(UserSchema));

const UserNameSchema = field(z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/), 'Letters, digits, ".", "_", "@", "-"; at most 64 characters.', {
  noun: 'a user name',
  allowed: 'letters, digits, ".", "_", "@", "-"; at most 64 characters',
});
/** 12: the policy src/admin/auth/passwords.ts enforces (MIN_PASSWORD_LENGTH). A refinement, not .min(12): the config checker's words for .min are "must not be empty". */
const PASSWORD_MIN = 12;
const PasswordSchema = field(
  z
    .string()
    .max(1024)
    .refine((text) => text.length >= PASSWORD_MIN, `is shorter than ${PASSWORD_MIN} characters`)
    .meta({ minLength: PASSWORD_MIN }),
  `At least ${PASSWORD_MIN} characters; stored as a scrypt hash, never in clear.`,
);

export const UserCreateSchema = named('UserCreate', z.strictObject({ name: UserNameSchema, role: RoleSchema, password: PasswordSchema }));

export const UserUpdateSchema = named(
  'UserUpdate',
  z.strictObject({
    role: RoleSchema.optional().describe('A new role (admin only; the last admin cannot lose the role).'),
    password: PasswordSchema.optional(),
    currentPassword: z.string().max(1024).optional().describe('Your current password: required when you change your own without the admin role (logged in to the console; a token cannot).'),
  }),
);

// --- tokens ---------------------------------------------------------------------------------

export const TokenSchema = named(
  'Token',
  z.object({
    id: z.string().describe('The token\'s id (not its secret): DELETE /api/v1/tokens/{id} revokes it.'),
    name: z.string(),
    role: RoleSchema,
    user: z.string().describe('Its owner.'),
    createdAt: isoTime('When it was created.'),
    expiresAt: isoTime('When it stops working.'),
    lastUsed: isoTime('Its last use.').nullable(),
  }),
);
export const TokenListSchema = named('TokenList', z.array(TokenSchema));

export const TokenCreateSchema = named(
  'TokenCreate',
  z.strictObject({
    name: z.string().min(1).max(64).describe('What the token is for, e.g. "deploy script".'),
    role: RoleSchema.describe('At most the caller\'s own role.'),
    expiresIn: field(z.string().regex(/^[1-9][0-9]{0,5}(m|h|d)$/).default('30d'), 'How long it works: minutes, hours or days, e.g. "12h", "30d", "365d".', {
      noun: 'a lifetime',
      allowed: 'a number of minutes, hours or days: 90m, 12h, 30d',
    }),
  }),
);

export const TokenCreatedSchema = named(
  'TokenCreated',
  z.object({
    id: z.string(),
    token: z.string().describe('The secret: shown this once, stored hashed. Send it as Authorization: Bearer TOKEN.'),
    name: z.string(),
    role: RoleSchema,
    expiresAt: isoTime('When it stops working.'),
  }),
);

// --- runtime state --------------------------------------------------------------------------

const LastCheckSchema = z.looseObject({ at: z.string(), ok: z.boolean(), latencyMs: z.number(), reason: z.string() });

const HealthSchema = z
  .looseObject({
    up: z.boolean(),
    reason: z.string().describe('Why it is in this state, or what the last check said.'),
    since: z.string().describe('When it entered this state, ISO 8601.'),
    check: z.string().describe('What is checked, in words.'),
    lastCheck: LastCheckSchema.nullable(),
    checks: z.looseObject({ passed: z.int(), failed: z.int() }),
  })
  .describe('The active health check\'s verdict, its reason and the last check.');

export const RealServerStatusSchema = named(
  'RealServerStatus',
  z.looseObject({
    address: z.string().describe('Its id in URLs, e.g. 127.0.0.1:9001 or [2001:db8::1]:80.'),
    state: z.enum(REAL_SERVER_STATES).describe('What the config asks for.'),
    weight: z.int(),
    effectiveWeight: z.number().describe('The weight new clients see now (0 while disabled, draining, down or ejected).'),
    health: HealthSchema,
    agent: z.looseObject({ reason: z.string() }).optional().describe('What the load agent said and why; absent without an agent.'),
    ejected: z.boolean(),
    activeRequests: z.int().describe('Requests in flight, summed over the workers.'),
    idleConnections: z.int(),
    requests: z.int(),
  }),
);

const RuleStatusSchema = z.looseObject({ name: z.string(), pool: z.string().nullable(), action: z.string(), hits: z.int() });
const CertificateStatusSchema = z.looseObject({
  names: z.array(z.string()),
  keyType: z.string(),
  issuer: z.string(),
  notAfter: z.string(),
  certFile: z.string(),
  isDefault: z.boolean(),
  warnings: z.array(z.string()).optional(),
});

const VirtualServiceStatusSchema = z.looseObject({
  name: z.string(),
  listen: z.string(),
  protocol: z.string(),
  pool: z.string(),
  scheduler: z.string(),
  clientConnections: z.int(),
  persistenceEntries: z.int().optional(),
  realServers: z.array(RealServerStatusSchema),
  rules: z.array(RuleStatusSchema),
  certificates: z.array(CertificateStatusSchema).optional(),
});

const PoolStatusSchema = z.looseObject({
  name: z.string(),
  inline: z.boolean().describe('Written inline on the virtual service of the same name.'),
  scheduler: z.string(),
  persistence: z.string().nullable(),
  usedBy: z.array(z.looseObject({ virtualService: z.string(), rule: z.string().nullable() })),
  persistenceEntries: z.int().optional(),
  queued: z.int(),
  realServers: z.array(RealServerStatusSchema),
});

export const SiteStatusSchema = named(
  'GslbSiteStatus',
  z.looseObject({
    name: z.string(),
    up: z.boolean(),
    checked: z.boolean(),
    reason: z.string().describe('The last check\'s words.'),
    progress: z.string().describe('What is going on, e.g. "failure 1 of 2 before down" (empty when steady).'),
    held: z.boolean().describe('Down and held for an operator (manual recovery).'),
    disabled: z.boolean().describe('Taken out by an operator.'),
    since: z.string().nullable(),
    downAt: z.string().nullable(),
    check: z.string(),
    lastCheck: LastCheckSchema.nullable(),
  }),
);

const GslbStatusSchema = z.looseObject({
  listen: z.array(z.string()),
  serial: z.int(),
  fqdns: z.array(z.looseObject({ name: z.string(), selection: z.string(), sites: z.array(SiteStatusSchema), answers: z.looseObject({}) })),
  dns: z.looseObject({ queries: z.int(), responses: z.record(z.string(), z.int()) }),
});

export const StatusSchema = named(
  'Status',
  z.looseObject({
    virtualServices: z.array(VirtualServiceStatusSchema),
    pools: z.array(PoolStatusSchema),
    gslb: GslbStatusSchema.optional().describe('Absent without a gslb section.'),
    workers: z.array(z.int()).describe('Worker pids.'),
    workersNotAnswering: z.array(z.int()),
    generation: z.int().describe('The config generation the workers run (1 at start, +1 per applied change).'),
  }),
);

export const StatsSchema = named(
  'Stats',
  z.looseObject({
    range: z.enum(['10m', '24h']),
    step: z.int().describe('Seconds between points: 1 for the last 10 minutes, 60 for the last 24 hours.'),
    series: z.string().describe('Which series: "total", "virtual-service:NAME" or a real server of a pool.'),
    t: z.array(z.int()).describe('Unix times in seconds, oldest first; the other arrays hold one value per time (null: no sample).'),
    requestsPerSecond: z.array(z.number().nullable()),
    activeConnections: z.array(z.number().nullable()),
    bytesInPerSecond: z.array(z.number().nullable()),
    bytesOutPerSecond: z.array(z.number().nullable()),
    latencyP50Ms: z.array(z.number().nullable()),
    latencyP90Ms: z.array(z.number().nullable()),
    latencyP99Ms: z.array(z.number().nullable()),
    errorsPerSecond: z.array(z.number().nullable()),
  }),
);

export const RealServerStateChangeSchema = named(
  'RealServerStateChange',
  z.strictObject({ state: z.enum(REAL_SERVER_STATES).describe('enabled takes traffic; disabled takes none; drain keeps persisted clients and takes no new ones.') }),
);

export const RealServerStateResultSchema = named(
  'RealServerStateResult',
  z.looseObject({
    virtualService: z.string().optional(),
    pool: z.string(),
    realServer: RealServerStatusSchema,
    generation: z.int(),
    changed: z.boolean().describe('false when it was already in that state.'),
  }),
);

export const SiteStateChangeSchema = named(
  'SiteStateChange',
  z.strictObject({ state: z.enum(['enabled', 'disabled']).describe('enabled puts the site back (a manual hold released); disabled takes it out whatever its checks say. Runtime only: the config file is not written.') }),
);

export const SiteStateResultSchema = named(
  'SiteStateResult',
  z.looseObject({ fqdn: z.string(), site: z.string(), status: SiteStatusSchema, answers: z.looseObject({}), events: z.array(z.string()) }),
);

// --- config changes, versions, audit, backup ------------------------------------------------

export const ConfigChangeSchema = named(
  'ConfigChange',
  z.object({
    dryRun: z.boolean().describe('true: validated exactly as a real write, nothing applied or saved.'),
    changed: z.boolean().describe('false when the config is already so.'),
    diff: z.string().describe('The unified diff of the config file this change makes (or would make).'),
    revision: z.string().describe('The config\'s revision after the change (the ETag of /api/v1/config without quotes); for a dry run, the one it was checked against.'),
    generation: z.int().nullable().describe('The config generation the workers run after it; null for a dry run or no change.'),
    version: z.int().nullable().describe('The id of the config version it made (GET /api/v1/config/versions); null for a dry run or no change.'),
    etag: z.string().optional().describe('The item\'s new ETag (create and replace).'),
  }),
);

export const ConfigVersionSchema = named(
  'ConfigVersion',
  z.object({
    id: z.string(),
    revision: z.string(),
    createdAt: isoTime('When it was written.'),
    user: z.string().nullable().describe('Who made it; null for a change made outside the API (the file edited, then SIGHUP).'),
    source: z.enum(['api', 'console', 'cli', 'sighup', 'start', 'restore', 'certificate']).describe('Where the change came from.'),
    summary: z.string().describe('What changed, in a line.'),
  }),
);
export const ConfigVersionListSchema = named('ConfigVersionList', z.array(ConfigVersionSchema).describe('Newest first.'));
export const ConfigVersionTextSchema = named('ConfigVersionText', ConfigVersionSchema.extend({ text: z.string().describe('The config file as it was written.') }));

export const AuditEntrySchema = named(
  'AuditEntry',
  z.object({
    id: z.string(),
    at: isoTime('When it happened.'),
    user: z.string().nullable().describe('Who; null for a failed login with an unknown user name.'),
    address: z.string().describe('The client address.'),
    action: z.string().describe('What was done, e.g. login, login.failed, config.replace, realServers.state.'),
    target: z.string().nullable().describe('What it was done to, e.g. pools/web.'),
    outcome: z.enum(['ok', 'denied', 'failed']),
    diff: z.string().nullable().describe('For a config change: the unified diff.'),
  }),
);
export const AuditListSchema = named('AuditList', z.array(AuditEntrySchema).describe('Newest first.'));

export const CertificateUploadSchema = named(
  'CertificateUpload',
  z.strictObject({
    name: field(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), 'The file name stem in the state folder (letters, digits, ".", "_", "-"; at most 64).', {
      noun: 'a certificate name',
      allowed: 'letters, digits, ".", "_", "-"; at most 64 characters',
    }),
    cert: z.string().min(1).describe('The certificate chain, PEM, leaf first.'),
    key: z.string().min(1).describe('Its private key, PEM.'),
  }),
);

export const CertificateSchema = named(
  'Certificate',
  z.looseObject({
    name: z.string(),
    names: z.array(z.string()).describe('The names it serves (SANs; wildcards as *.example.com).'),
    issuer: z.string(),
    notAfter: isoTime('When it expires.'),
    keyType: z.string(),
    certFile: z.string(),
    usedBy: z.array(z.string()).describe('The virtual services that serve it.'),
    warnings: z.array(z.string()).optional(),
  }),
);
export const CertificateListSchema = named('CertificateList', z.array(CertificateSchema));

export const BackupSchema = named(
  'Backup',
  z.looseObject({
    format: z.literal('fulcrum-backup'),
    version: z.literal(1),
    createdAt: isoTime('When the backup was taken.'),
    config: z.looseObject({ text: z.string().describe('The config file\'s text.'), revision: z.string() }),
    users: z.array(z.looseObject({ name: z.string(), role: RoleSchema })).describe('Users with their password hashes.'),
    tokens: z.array(z.looseObject({ id: z.string(), name: z.string() })).describe('Tokens, hashed.'),
  }),
);

// --- validation for the handlers ------------------------------------------------------------

export interface BodyProblem {
  /** JSON path: "$", "$.name", "$.sites[0].address", "$['odd key']". */
  path: string;
  message: string;
  allowed?: string;
  suggestion?: string;
}

export type BodyResult<T> = { ok: true; value: T } | { ok: false; problems: BodyProblem[] };

/**
 * Validate a request body; the problems speak the config checker's words (what was found, what
 * is allowed, did you mean) with each problem's JSON path, ready for a 400's `problems`.
 */
export function validateBody<S extends z.ZodType>(schema: S, value: unknown): BodyResult<z.output<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = issuesFromZod(parsed.error.issues, schema, value).map((issue): BodyProblem => {
    const problem: BodyProblem = { path: jsonPath(issue.path), message: issue.message };
    if (issue.allowed !== undefined) problem.allowed = issue.allowed;
    if (issue.suggestion !== undefined) problem.suggestion = issue.suggestion;
    return problem;
  });
  return { ok: false, problems };
}

const MEMBER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** RFC 9535 style: $.a.b[0] for plain names and indexes, $['a b'] for any other name. */
export function jsonPath(path: readonly PathSegment[]): string {
  let text = '$';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (MEMBER_NAME.test(segment)) text += `.${segment}`;
    else text += `['${segment.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}']`;
  }
  return text;
}
