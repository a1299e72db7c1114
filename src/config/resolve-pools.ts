/**
 * The step from the config as written to the config as run: every pool in one list (the
 * `pools:` entries and the virtual services' inline pools), every virtual service naming its
 * pool, each named pool's health check resolved for the protocol of the virtual services that use
 * it, and each pool's methods checked against what those protocols offer (capabilities.ts).
 *
 * An inline pool is named after its virtual service, so `fulcrum rs drain web ADDRESS` and the
 * health messages keep the names they always had.
 */
import { z } from 'zod';
import { resolveHealthChecks, type VirtualServiceProtocol } from './health-check.ts';
import { KeepAliveSchema, POOL_KEYS, QueueSchema, type PoolConfig, type PoolInput, type PoolRealServerConfig } from './pool.ts';
import { checkPoolCapabilities, type PoolUser } from './capabilities.ts';
import { checkFrontEnds } from './front-end-checks.ts';
import { upstreamTls, type UpstreamTlsConfig } from './upstream-tls.ts';
import type { PathSegment } from './problem.ts';
import type { ParsedConfig, ParsedVirtualServiceConfig } from './schema.ts';
import { suggest } from './suggest.ts';

type PoolKey = (typeof POOL_KEYS)[number];
type FrontEnd<T> = T extends unknown ? Omit<T, PoolKey | 'pool'> & { pool: string } : never;
/** A virtual service as run: its front end settings and the name of its default pool. */
export type ResolvedVirtualService = FrontEnd<ParsedVirtualServiceConfig>;

const DEFAULT_QUEUE = QueueSchema.parse({});
const DEFAULT_KEEP_ALIVE = KeepAliveSchema.parse({});

export function resolvePools(config: ParsedConfig, ctx: z.RefinementCtx) {
  const named = config.pools ?? [];
  const parsedServices = config.virtualServices ?? [];
  const pools: PoolConfig[] = [];
  /** Where each pool's keys are written, and whether inline. */
  const origin = new Map<string, { at: PathSegment[]; inline: boolean; index: number }>();
  const issue = (path: PathSegment[], message: string, suggestion?: string): void => {
    ctx.addIssue({ code: 'custom', path, input: undefined, message, params: suggestion === undefined ? {} : { suggestion } });
  };

  named.forEach((pool, index) => {
    const first = origin.get(pool.name);
    if (first !== undefined) {
      issue(['pools', index, 'name'], `pool name "${pool.name}" is already used by pools[${first.index}]; pool names must be unique because virtual services, rules and the API name them`);
      return;
    }
    origin.set(pool.name, { at: ['pools', index], inline: false, index });
  });

  // Inline pools first, so that `pool: NAME` finds another service's own pool (as a rule's
  // pool: does) whichever of the two is written first.
  parsedServices.forEach((vs, index) => {
    const at: PathSegment[] = ['virtualServices', index];
    if (redirectsAll(vs)) {
      // It answers every request itself: an empty pool of its own, never picked from.
      if (vs.realServers !== undefined || vs.pool !== undefined) {
        issue([...at, vs.pool !== undefined ? 'pool' : 'realServers'], `virtual service "${vs.name}" redirects every request to HTTPS (redirectToHttps), so its real servers would never be used; remove ${vs.pool !== undefined ? 'pool' : 'realServers'}`);
      }
      if (!origin.has(vs.name)) {
        origin.set(vs.name, { at, inline: true, index });
        pools.push({ ...inlinePool(vs, at), realServers: [] });
      }
      return;
    }
    if (vs.realServers === undefined) return;
    const clash = origin.get(vs.name);
    if (clash !== undefined && !clash.inline) {
      issue(['pools', clash.index, 'name'], `pool name "${vs.name}" is also the name of virtual service "${vs.name}"'s own pool (its realServers); rename one`);
    } else {
      origin.set(vs.name, { at, inline: true, index });
      pools.push(inlinePool(vs, at));
    }
  });

  const virtualServices: ResolvedVirtualService[] = [];
  parsedServices.forEach((vs, index) => {
    const at: PathSegment[] = ['virtualServices', index];
    const written = redirectsAll(vs) ? undefined : vs.pool;
    if (redirectsAll(vs)) {
      // its own empty pool, above
    } else if (written !== undefined && vs.realServers !== undefined) {
      issue([...at, 'pool'], `virtual service "${vs.name}" names pool "${written}" and lists realServers: give one of the two (pool: to share a pool under pools:, realServers: for a pool of its own)`);
    } else if (written === undefined && vs.realServers === undefined) {
      issue(at, `virtual service "${vs.name}" has no real servers: name a pool (pool: NAME, one of pools:) or list realServers`);
    } else if (written !== undefined && !origin.has(written)) {
      const known = [...origin.keys()];
      const hint = suggest(written, known);
      issue(
        [...at, 'pool'],
        known.length === 0 ? `no pool named "${written}": the config has no pools: list` : `no pool named "${written}"; the pools are ${known.join(', ')}`,
        hint,
      );
    }
    virtualServices.push(frontEnd(vs, written ?? vs.name));
  });

  // Who uses each pool, with which protocol: its health check and methods must suit them all.
  const users = new Map<string, PoolUser[]>();
  for (const vs of virtualServices) {
    if (!origin.has(vs.pool)) continue;
    const list = users.get(vs.pool) ?? [];
    list.push({ protocol: vs.protocol, virtualService: vs.name, rule: null });
    users.set(vs.pool, list);
  }
  checkFrontEnds(config, parsedServices, new Set(origin.keys()), users, issue);

  named.forEach((pool, index) => {
    if (origin.get(pool.name)?.index !== index || origin.get(pool.name)?.inline) return;
    const poolUsers = users.get(pool.name) ?? [];
    const protocol = checkProtocol(pool, poolUsers, ['pools', index], issue);
    const streamUser = poolUsers.find((u) => u.protocol !== 'http' && u.protocol !== 'https');
    if ((pool.tls !== undefined || pool.realServers.some((rs) => rs.tls !== undefined)) && streamUser !== undefined) {
      issue(['pools', index, pool.tls !== undefined ? 'tls' : 'realServers'], `pool "${pool.name}" speaks TLS to its real servers, which only http and https virtual services do yet; ${streamUser.protocol} virtual service "${streamUser.virtualService}" uses it: give it a pool of its own`);
    }
    pools.push(namedPool(pool, ['pools', index], protocol, withPrefix(ctx, ['pools', index])));
  });

  for (const pool of pools) {
    const where = origin.get(pool.name);
    if (where === undefined) continue;
    checkPoolCapabilities(pool, pool.name, where.inline, users.get(pool.name) ?? [], where.at, ctx);
  }
  // Config order for pools: named ones first as written, then inline ones in virtual service order.
  pools.sort((a, b) => Number(a.inline) - Number(b.inline) || (origin.get(a.name)?.index ?? 0) - (origin.get(b.name)?.index ?? 0));

  const { pools: _written, virtualServices: _services, ...rest } = config;
  return { ...rest, pools, virtualServices };
}

/** An http service with redirectToHttps: every request answered with a redirect, no pool used. */
function redirectsAll(vs: ParsedVirtualServiceConfig): boolean {
  return vs.protocol === 'http' && vs.redirectToHttps !== undefined;
}

/**
 * The protocol a named pool's health checks are resolved for: its users' (they must agree when
 * the check's type is left to the protocol). A pool nobody uses is resolved as http's would be.
 */
function checkProtocol(pool: PoolInput, users: readonly PoolUser[], at: PathSegment[], issue: (path: PathSegment[], message: string) => void): VirtualServiceProtocol {
  const protocols = [...new Set(users.map((u) => u.protocol))];
  if (protocols.length > 1 && pool.healthCheck !== undefined && pool.healthCheck.type === undefined) {
    issue([...at, 'healthCheck'], `pool "${pool.name}" is used by ${protocols.join(' and ')} virtual services, whose checks differ; say which check it runs (healthCheck.type)`);
  }
  // A tcp check suits every stream protocol; udp users need a check over UDP or a tcp one.
  return protocols.length === 1 ? protocols[0]! : protocols.includes('udp') ? 'udp' : protocols.length === 0 ? 'http' : 'tcp';
}

function namedPool(pool: PoolInput, at: PathSegment[], protocol: VirtualServiceProtocol, ctx: z.RefinementCtx): PoolConfig {
  const resolved = resolveHealthChecks({ protocol, healthCheck: pool.healthCheck, realServers: pool.realServers }, ctx);
  return {
    name: pool.name,
    inline: false,
    at,
    scheduler: pool.scheduler,
    slowStart: pool.slowStart,
    sorryServer: pool.sorryServer,
    outlierDetection: pool.outlierDetection,
    adaptive: pool.adaptive,
    persistence: pool.persistence,
    drainTimeout: pool.drainTimeout,
    healthCheck: resolved.healthCheck,
    queue: pool.queue,
    keepAlive: pool.keepAlive,
    realServers: (resolved.realServers as Array<Omit<PoolRealServerConfig, 'tls'> & { tls?: RealServerTlsInput }>).map((rs) =>
      withTls(rs, upstreamTls(pool.tls, rs.tls), pool.healthCheck?.type !== undefined),
    ),
  };
}

type RealServerTlsInput = Parameters<typeof upstreamTls>[1];

/**
 * A real server with its TLS; a server spoken to over TLS is checked over TLS too, with the same
 * verification, CA and name, unless the check's type was written (`typeWritten`, or its own).
 * Every https check of it, written or not, sends its client certificate: a server that asks for
 * one would otherwise fail the check while serving requests.
 */
function withTls(rs: Omit<PoolRealServerConfig, 'tls'> & { tls?: RealServerTlsInput; healthCheck: PoolRealServerConfig['healthCheck'] }, tls: UpstreamTlsConfig | null, typeWritten: boolean): PoolRealServerConfig {
  const { tls: _written, ...rest } = rs;
  if (tls === null) return { ...rest, tls };
  const client = tls.cert !== null && tls.key !== null ? { cert: tls.cert, key: tls.key } : {};
  // A written https check keeps its own verification and sends the client certificate.
  if (rs.healthCheck.type === 'https') return { ...rest, tls, healthCheck: { ...rs.healthCheck, tls: { ...rs.healthCheck.tls, ...client } } };
  if (typeWritten || rs.healthCheck.type !== 'http') return { ...rest, tls };
  const check = { ...rs.healthCheck, type: 'https' as const, tls: { verify: tls.verify, ...(tls.ca !== null ? { ca: tls.ca } : {}), ...client } };
  if (check.host === null && tls.serverName !== null) check.host = tls.serverName;
  return { ...rest, tls, healthCheck: check };
}

/** A virtual service's own pool, from the keys written on it (already resolved by its schema). */
function inlinePool(vs: ParsedVirtualServiceConfig, at: PathSegment[]): PoolConfig {
  const v = vs as ParsedVirtualServiceConfig & Record<string, unknown>;
  const http = vs.protocol === 'http' || vs.protocol === 'https' ? vs : null;
  const stream = vs.protocol === 'tcp' || vs.protocol === 'ftp' ? vs : null;
  return {
    name: vs.name,
    inline: true,
    at,
    scheduler: vs.scheduler,
    slowStart: vs.slowStart,
    sorryServer: 'sorryServer' in vs ? vs.sorryServer : undefined,
    outlierDetection: 'outlierDetection' in vs ? vs.outlierDetection : false,
    adaptive: 'adaptive' in vs ? vs.adaptive : undefined,
    persistence: vs.persistence,
    drainTimeout: vs.drainTimeout,
    healthCheck: v['healthCheck'] as PoolConfig['healthCheck'],
    queue: stream !== null ? stream.limits.queue : DEFAULT_QUEUE,
    keepAlive: http !== null ? { idle: http.timeouts.upstreamIdle, maxIdlePerServer: http.limits.maxIdlePerServer } : DEFAULT_KEEP_ALIVE,
    realServers: ((v['realServers'] ?? []) as Array<Omit<PoolRealServerConfig, 'tls'> & { tls?: RealServerTlsInput }>).map((rs) =>
      withTls(rs, upstreamTls(undefined, rs.tls), (v['healthCheck'] as { type?: string } | undefined)?.type !== undefined),
    ),
  };
}

function frontEnd(vs: ParsedVirtualServiceConfig, pool: string): ResolvedVirtualService {
  const copy: Record<string, unknown> = { ...vs };
  for (const key of POOL_KEYS) delete copy[key];
  copy['pool'] = pool;
  return copy as ResolvedVirtualService;
}

/** A refinement context whose issues land under `prefix` (a transform at the root sees root paths). */
function withPrefix(ctx: z.RefinementCtx, prefix: readonly PathSegment[]): z.RefinementCtx {
  return {
    ...ctx,
    addIssue: (issue: Parameters<z.RefinementCtx['addIssue']>[0]) => {
      if (typeof issue === 'string') return ctx.addIssue(issue);
      ctx.addIssue({ ...issue, path: [...prefix, ...((issue as { path?: PathSegment[] }).path ?? [])] } as Parameters<z.RefinementCtx['addIssue']>[0]);
    },
  } as z.RefinementCtx;
}

/**
 * Keys of an inline pool written on a virtual service that also names a pool: they would be
 * silently unused. Read from the raw data, since the parsed keys carry defaults.
 */
export function inlineKeysBesidePool(data: unknown): Array<{ path: PathSegment[]; message: string }> {
  const services = (data as { virtualServices?: unknown } | null)?.virtualServices;
  if (!Array.isArray(services)) return [];
  const found: Array<{ path: PathSegment[]; message: string }> = [];
  services.forEach((vs: unknown, index) => {
    if (vs === null || typeof vs !== 'object') return;
    const raw = vs as Record<string, unknown>;
    if (typeof raw['pool'] !== 'string' || raw['realServers'] !== undefined) return;
    const pool = raw['pool'];
    for (const key of POOL_KEYS) {
      if (raw[key] === undefined) continue;
      found.push({ path: ['virtualServices', index, key], message: `${key} belongs to the pool: virtual service "${String(raw['name'])}" uses pool "${pool}", so set ${key} there (pools: - name: ${pool})` });
    }
    const timeouts = raw['timeouts'] as Record<string, unknown> | undefined;
    if (timeouts?.['upstreamIdle'] !== undefined) {
      found.push({ path: ['virtualServices', index, 'timeouts', 'upstreamIdle'], message: `timeouts.upstreamIdle belongs to the pool: set keepAlive.idle on pool "${pool}"` });
    }
    const limits = raw['limits'] as Record<string, unknown> | undefined;
    if (limits?.['maxIdlePerServer'] !== undefined) {
      found.push({ path: ['virtualServices', index, 'limits', 'maxIdlePerServer'], message: `limits.maxIdlePerServer belongs to the pool: set keepAlive.maxIdlePerServer on pool "${pool}"` });
    }
  });
  return found;
}
