/**
 * PUT .../real-servers/{address}/state: the change goes into the config file, so that the file
 * stays the one durable source of truth and the change survives a reload and a restart (Caddy
 * autosaves its config the same way). In order:
 *
 * 1. read the file as it is now (it may hold edits not yet reloaded: they go live with this change,
 *    exactly as a SIGHUP would apply them);
 * 2. set the state in the text (config-edit.ts: one-line change, comments kept);
 * 3. validate the result with the loader `fulcrum start` uses: an invalid file is never written;
 * 4. write it atomically (atomic-write.ts), unless the file is read-only: that is the
 *    administrator's way of saying "not through the API";
 * 5. run the reload path SIGHUP runs; if it fails, put the old text back, so the file never
 *    claims a state the load balancer does not run.
 */
import { readFile, stat } from 'node:fs/promises';
import { formatProblems } from '../config/format.ts';
import { loadConfigText } from '../config/load.ts';
import type { ConfigProblem } from '../config/problem.ts';
import type { Config, RealServerState } from '../config/schema.ts';
import { realServerState } from '../config/conflicts.ts';
import { formatAddress } from '../config/address.ts';
import { ErrorCode } from '../errors.ts';
import { writeFileAtomic } from './atomic-write.ts';
import { canonicalAddress, editRealServerState, type PoolTarget } from './config-edit.ts';
import type { ApiFailure, Reload } from './types.ts';

export interface StateChangeEnv {
  configPath: string;
  /** The config the workers run now. */
  running: Config;
  reload: Reload;
}

export type StateChangeResult = { ok: true; changed: boolean; generation: number | null; pool: string } | { ok: false; failure: ApiFailure };

export async function changeRealServerState(env: StateChangeEnv, target: PoolTarget, address: string, state: RealServerState): Promise<StateChangeResult> {
  const { configPath } = env;
  let original: string;
  try {
    original = await readFile(configPath, 'utf8');
  } catch (error) {
    return fail(500, ErrorCode.CONFIG_READ, `cannot read the config file ${configPath}: ${errorText(error)}`);
  }

  const edit = editRealServerState(original, target, address, state);
  if (!edit.ok) {
    if (edit.reason === 'not-found') {
      const failure: ApiFailure = { status: 404, code: ErrorCode.ADMIN_NOT_FOUND, message: edit.message };
      if (edit.suggestion !== undefined) failure.suggestion = edit.suggestion;
      return { ok: false, failure };
    }
    if (edit.reason === 'unsupported') return fail(409, ErrorCode.CONFIG_WRITE, edit.message);
    return invalidFile(configPath, problemsOf(original, configPath), 'the config file has problems, so nothing was changed; fix them (fulcrum check -c FILE) and try again');
  }

  const loaded = loadConfigText(edit.text, configPath);
  if (!loaded.ok) {
    const before = loadConfigText(original, configPath);
    const message = before.ok
      ? `setting state "${state}" would make the config invalid, so nothing was changed`
      : 'the config file has problems, so nothing was changed; fix them (fulcrum check -c FILE) and try again';
    return invalidFile(configPath, loaded.problems, message);
  }

  if (!edit.changed && runningState(env.running, edit.pool, address) === state) return { ok: true, changed: false, generation: null, pool: edit.pool };

  if (edit.changed) {
    const refusal = await writable(configPath);
    if (refusal !== null) return { ok: false, failure: refusal };
    try {
      await writeFileAtomic(configPath, edit.text);
    } catch (error) {
      return fail(500, ErrorCode.CONFIG_WRITE, `cannot write the config file ${configPath}: ${errorText(error)}; it was left as it was`);
    }
  }

  const outcome = await env.reload(loaded);
  if (outcome.ok) return { ok: true, changed: true, generation: outcome.generation, pool: edit.pool };
  let restored = '';
  if (edit.changed) {
    try {
      await writeFileAtomic(configPath, original);
      restored = '; the config file was put back as it was';
    } catch (error) {
      return fail(500, ErrorCode.CONFIG_WRITE, `the reload failed (${outcome.reason}) and the config file ${configPath} could not be put back (${errorText(error)}): it now says state "${state}" but the running config does not; fix the cause and reload (SIGHUP)`);
    }
  }
  if (outcome.shuttingDown === true) return fail(503, ErrorCode.ADMIN_UNAVAILABLE, `the load balancer is shutting down; nothing was changed${restored}`);
  return fail(409, ErrorCode.RELOAD_FAILED, `the new config could not be applied: ${outcome.reason}${restored}`);
}

/** A read-only file (no write bit for anyone) is not rewritten, even by root, who could. */
async function writable(configPath: string): Promise<ApiFailure | null> {
  try {
    const { mode } = await stat(configPath);
    if ((mode & 0o222) !== 0) return null;
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    return {
      status: 409,
      code: ErrorCode.CONFIG_WRITE,
      message: `the config file ${configPath} is read-only (mode ${octal}), so nothing was changed; make it writable to let the API change it, or edit it by hand and reload`,
    };
  } catch (error) {
    return { status: 500, code: ErrorCode.CONFIG_READ, message: `cannot stat the config file ${configPath}: ${errorText(error)}` };
  }
}

function runningState(config: Config, pool: string, address: string): RealServerState | null {
  const wanted = canonicalAddress(address);
  const rs = config.pools.find((p) => p.name === pool)?.realServers.find((r) => formatAddress(r.address) === wanted);
  return rs === undefined ? null : realServerState(rs);
}

function problemsOf(text: string, configPath: string): ConfigProblem[] {
  const loaded = loadConfigText(text, configPath);
  return loaded.ok ? [] : loaded.problems;
}

function invalidFile(configPath: string, problems: readonly ConfigProblem[], message: string): StateChangeResult {
  const lines = problems.length === 0 ? [] : formatProblems(problems).split('\n');
  const first = problems[0];
  const failure: ApiFailure = {
    status: 409,
    code: ErrorCode.CONFIG_INVALID,
    message: first === undefined ? `${message} (${configPath})` : `${message}: ${lines[0]}`,
    problems: lines,
  };
  return { ok: false, failure };
}

function fail(status: number, code: ApiFailure['code'], message: string): StateChangeResult {
  return { ok: false, failure: { status, code, message } };
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code !== undefined ? `${e.code}: ${e.message}` : error instanceof Error ? error.message : String(error);
}
