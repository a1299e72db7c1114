/**
 * Runtime state an operator changes: a real server's state (enabled, disabled, drain), written
 * into the config like any other change (so it survives a restart) but allowed to operators; and
 * a GSLB site's manual recovery, which is runtime only (src/gslb/check-driver.ts).
 */
import type { Config } from '../../config/schema.ts';
import { REAL_SERVER_STATES, type RealServerState } from '../../config/schema.ts';
import { realServerState } from '../../config/conflicts.ts';
import { formatAddress } from '../../config/address.ts';
import { suggest } from '../../config/suggest.ts';
import { ErrorCode } from '../../errors.ts';
import { canonicalAddress, editRealServerState, type PoolTarget } from '../config-edit.ts';
import type { ConfigChanges } from '../config-changes.ts';
import { findRealServer } from '../status.ts';
import type { ApiFailure, SetSiteStateOutcome, SiteState, StatusDocument } from '../types.ts';
import { failureAnswer, type Answer, type Handler, type RequestContext, requestOf } from './context.ts';

export interface StateEnv {
  changes: ConfigChanges;
  running: () => Config;
  status: () => Promise<StatusDocument>;
  setSiteState: (fqdn: string, site: string, state: SiteState) => Promise<SetSiteStateOutcome>;
  log: (fields: Record<string, unknown>, message: string) => void;
  /** The audit log (a site's state is runtime state: not a config change, so recorded here). */
  audit?: (entry: { user: string; address: string; action: string; target: string; outcome: 'ok' | 'failed'; detail?: string }) => void;
}

export function stateHandlers(env: StateEnv): Record<string, Handler> {
  const realServer = (kind: PoolTarget['kind']): Handler => async (ctx) => {
    const name = kind === 'pool' ? (ctx.params.pool ?? '') : (ctx.params.name ?? '');
    const address = ctx.params.address ?? '';
    const state = await stateBody(ctx, REAL_SERVER_STATES, 'real server', 'drain');
    if (!state.ok) return state.answer;
    let pool = '';
    const result = await env.changes.apply({
      ...requestOf(ctx, 'realServer.state', `${name} ${address} ${state.value}`),
      edit: (current) => {
        const edit = editRealServerState(current.text, { kind, name }, address, state.value);
        if (!edit.ok) {
          if (edit.reason === 'not-found') {
            const failure: ApiFailure = { status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: edit.message };
            if (edit.suggestion !== undefined) failure.suggestion = edit.suggestion;
            return { ok: false, failure };
          }
          if (edit.reason === 'unsupported') return { ok: false, failure: { status: 409, code: ErrorCode.CONFIG_WRITE, message: edit.message } };
          return { ok: false, failure: { status: 409, code: ErrorCode.CONFIG_INVALID, message: 'the config file has problems, so nothing was changed; fix them (fulcrum check -c FILE) and try again' } };
        }
        pool = edit.pool;
        // The file may already say so while the running config does not (edited by hand, not reloaded).
        const running = runningState(env.running(), edit.pool, address);
        return { ok: true, text: edit.text, summary: `real server ${canonicalAddress(address)} in pool ${edit.pool}: ${state.value}`, reloadAnyway: running !== state.value };
      },
    });
    if (!result.ok) return failureAnswer(result.failure);
    if (result.changed) env.log({ pool, realServer: address, state: state.value, user: ctx.principal.user }, `real server ${address} in pool "${pool}" set to ${state.value} through the admin API`);
    const status = await env.status();
    const rs = findRealServer(status, pool, canonicalAddress(address));
    if (rs === undefined) return failureAnswer({ status: 500, code: ErrorCode.ADMIN_INTERNAL, message: `real server ${address} is missing from the status after the change` });
    const changed = result.changed || result.generation !== null;
    return { status: 200, body: { ...(kind === 'virtual-service' ? { virtualService: name } : {}), pool, realServer: rs, generation: status.generation, changed, dryRun: result.dryRun, diff: result.diff } };
  };

  const site: Handler = async (ctx) => {
    const state = await stateBody(ctx, ['enabled', 'disabled'] as const, 'GSLB site', 'enabled');
    if (!state.ok) return state.answer;
    if (ctx.dryRun) return failureAnswer({ status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message: 'a GSLB site state is runtime state; there is no dry run of it' });
    const outcome = await env.setSiteState(ctx.params.fqdn ?? '', ctx.params.site ?? '', state.value);
    const target = `${ctx.params.fqdn ?? ''} ${ctx.params.site ?? ''} ${state.value}`;
    env.audit?.({ user: ctx.principal.user, address: ctx.address, action: 'site.state', target, outcome: outcome.ok ? 'ok' : 'failed', ...(outcome.ok ? { detail: outcome.events.join('; ') } : { detail: outcome.failure.message }) });
    if (!outcome.ok) return failureAnswer(outcome.failure);
    const { ok: _ok, ...answer } = outcome;
    return { status: 200, body: answer };
  };

  return { 'virtualServices.realServerState': realServer('virtual-service'), 'realServers.state': realServer('pool'), 'sites.state': site };
}

async function stateBody<S extends string>(ctx: RequestContext, allowed: readonly S[], noun: string, example: S): Promise<{ ok: true; value: S } | { ok: false; answer: Answer }> {
  const bad = (message: string, suggestion?: string): { ok: false; answer: Answer } => {
    const failure: ApiFailure = { status: 400, code: ErrorCode.ADMIN_BAD_REQUEST, message, allowed };
    if (suggestion !== undefined) failure.suggestion = suggestion;
    return { ok: false, answer: failureAnswer(failure) };
  };
  const body = await ctx.body();
  if (!body.ok) return { ok: false, answer: failureAnswer(body.failure) };
  const value = body.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(`the body must be a JSON object such as {"state": "${example}"}`);
  const extra = Object.keys(value).filter((k) => k !== 'state');
  if (extra.length > 0) return bad(`unknown key ${JSON.stringify(extra[0])} in the body; it takes only "state"`, suggest(extra[0]!, ['state']));
  const state = (value as { state?: unknown }).state;
  if (state === undefined) return bad(`the body has no "state"; send {"state": ${allowed.map((a) => `"${a}"`).join(' | ')}}`);
  if (typeof state !== 'string' || !(allowed as readonly string[]).includes(state)) {
    const suggestion = typeof state === 'string' ? suggest(state, allowed) : undefined;
    return bad(`${JSON.stringify(state)} is not a ${noun} state${suggestion === undefined ? ';' : `; did you mean "${suggestion}"?`} allowed: ${allowed.join(', ')}`, suggestion);
  }
  return { ok: true, value: state as S };
}

function runningState(config: Config, pool: string, address: string): RealServerState | null {
  const wanted = canonicalAddress(address);
  const rs = config.pools.find((p) => p.name === pool)?.realServers.find((r) => formatAddress(r.address) === wanted);
  return rs === undefined ? null : realServerState(rs);
}
