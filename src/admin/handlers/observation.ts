/**
 * What the node observes, read only: status with reasons, statistics history, Prometheus metrics,
 * the audit log, and the descriptions of the API and the config (OpenAPI, JSON Schema).
 */
import { ErrorCode, FulcrumError } from '../../errors.ts';
import { configJsonSchema } from '../../config/reference.ts';
import type { StatsHistory } from '../../metrics/history.ts';
import type { AuditLog } from '../audit.ts';
import { openApiDocument } from '../openapi.ts';
import type { StatusDocument } from '../types.ts';
import { failureAnswer, type Handler } from './context.ts';

export interface ObservationEnv {
  status: () => Promise<StatusDocument>;
  metrics: () => Promise<string>;
  history: () => StatsHistory | null;
  audit: AuditLog;
}

export function observationHandlers(env: ObservationEnv): Record<string, Handler> {
  let schema: unknown = null;
  return {
    'status.get': async () => ({ status: 200, body: await env.status() }),
    'stats.get': async (ctx) => {
      const range = ctx.query.get('range') ?? '10m';
      if (range !== '10m' && range !== '24h') return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'range is 10m (1-second points) or 24h (1-minute points)', allowed: ['10m', '24h'] });
      const history = env.history();
      if (history === null) return failureAnswer({ status: 503, code: ErrorCode.ADMIN_UNAVAILABLE, message: 'statistics history is not running yet' });
      const query: Parameters<StatsHistory['query']>[0] = { range };
      for (const key of ['virtualService', 'pool', 'realServer'] as const) {
        const value = ctx.query.get(key);
        if (value !== null) query[key] = value;
      }
      try {
        return { status: 200, body: history.query(query) };
      } catch (error) {
        if (error instanceof FulcrumError && error.code === ErrorCode.ADMIN_BAD_REQUEST) return failureAnswer({ status: 400, code: error.code, message: error.message });
        throw error;
      }
    },
    'metrics.get': async () => ({ status: 200, text: { contentType: 'text/plain; version=0.0.4; charset=utf-8', data: await env.metrics() } }),
    'audit.list': async (ctx) => {
      const limit = ctx.query.get('limit');
      const before = ctx.query.get('before');
      return { status: 200, body: env.audit.list({ limit: limit === null ? undefined : Number(limit), before: before === null ? undefined : Number(before) }) };
    },
    'openapi.get': async () => ({ status: 200, body: openApiDocument(), headers: { 'cache-control': 'no-cache' } }),
    'schema.get': async () => ({ status: 200, body: (schema ??= configJsonSchema()) }),
  };
}
