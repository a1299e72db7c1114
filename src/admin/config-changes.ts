/**
 * The one path every config change takes, whoever asks (API, console, CLI, a restore):
 *
 * 1. read the stored config and its revision;
 * 2. make the edit on its text (comments and layout kept: src/admin/collections);
 * 3. validate the whole result with the loader `fulcrum check` uses; problems answer 400 with
 *    the same messages, each with its JSON path (relative to the item edited, when inside it);
 * 4. a dry run stops here and answers the diff;
 * 5. write it atomically against the revision read in 1 (a concurrent edit fails as 412);
 * 6. apply it to every worker as one transaction (the reload path SIGHUP runs); if that fails,
 *    put the old text back, so the file never claims what the load balancer does not run;
 * 7. record the version and an audit entry with the diff.
 *
 * Changes run one at a time (`serially`, shared with SIGHUP), so 1-7 see no interleaving.
 */
import { basename } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { formatProblems } from '../config/format.ts';
import { loadConfigText } from '../config/load.ts';
import type { ConfigProblem } from '../config/problem.ts';
import type { LoadResult } from '../config/load.ts';
import { ErrorCode } from '../errors.ts';
import type { ChangeSource, ConfigStore, ConfigVersion, StoredConfig } from '../store/config-store.ts';
import type { Principal } from './roles.ts';
import type { ApiFailure, ReloadOutcome } from './types.ts';

/** A problem as the API answers it: JSON path first, then where it is in the file. */
export interface ApiProblem {
  /** JSON path in the request body ("$.rules[0].match.path"), or in the whole config when the problem is outside the item. */
  path: string;
  /** The same problem's path in the whole config ("$.virtualServices[2].rules[0].match.path"). */
  configPath: string;
  message: string;
  code: string;
  line?: number;
  column?: number;
  allowed?: string;
  suggestion?: string;
}

export type EditOutcome =
  | {
      ok: true;
      text: string;
      summary: string;
      /** The edited item's path in the config ("virtualServices[2]"): problems inside it get paths relative to the request body. */
      focus?: string;
      /** Apply even when the text is unchanged (the running config differs from the file). */
      reloadAnyway?: boolean;
    }
  | { ok: false; failure: ApiFailure };

export interface ChangeRequest {
  edit: (current: StoredConfig) => EditOutcome | Promise<EditOutcome>;
  principal: Principal;
  /** The client's address, for the audit log. */
  address: string;
  source: ChangeSource;
  /** Audit action ("virtualService.replace") and target ("web"). */
  action: string;
  target: string;
  dryRun: boolean;
}

export type ChangeResult =
  | {
      ok: true;
      dryRun: boolean;
      changed: boolean;
      /** Unified diff of the config file, "" when unchanged. */
      diff: string;
      revision: string;
      generation: number | null;
      version: ConfigVersion | null;
    }
  | { ok: false; failure: ApiFailure & { apiProblems?: ApiProblem[] } };

/** What the audit log takes (src/admin/audit.ts). */
export interface AuditSink {
  append(entry: { at?: number; user: string; address: string; action: string; target: string; outcome: 'ok' | 'failed' | 'denied'; detail?: string; diff?: string }): void;
}

export interface ChangeEnv {
  store: ConfigStore;
  /** Apply a validated config to every worker (the supervisor's reload path). */
  reload: (loaded: Extract<LoadResult, { ok: true }>) => Promise<ReloadOutcome>;
  /** Run one change at a time, with reloads. */
  serially: <T>(task: () => Promise<T>) => Promise<T>;
  audit: AuditSink;
}

export class ConfigChanges {
  readonly #env: ChangeEnv;

  constructor(env: ChangeEnv) {
    this.#env = env;
  }

  apply(request: ChangeRequest): Promise<ChangeResult> {
    return this.#env.serially(async () => {
      let result: ChangeResult;
      try {
        result = await this.#apply(request);
      } catch (error) {
        // A bug or a failure of the host (out of file descriptors) between write and apply: the
        // change is recorded as failed, and the caller gets a 500 (the log has the detail).
        this.#env.audit.append({ user: request.principal.user, address: request.address, action: request.action, target: request.target, outcome: 'failed', detail: error instanceof Error ? error.message : String(error) });
        throw error;
      }
      if (!request.dryRun && (!result.ok || result.changed || result.generation !== null)) {
        this.#env.audit.append({
          user: request.principal.user,
          address: request.address,
          action: request.action,
          target: request.target,
          outcome: result.ok ? 'ok' : 'failed',
          ...(result.ok ? { diff: result.diff } : { detail: result.failure.message }),
        });
      }
      return result;
    });
  }

  async #apply(request: ChangeRequest): Promise<ChangeResult> {
    const { store } = this.#env;
    let current: StoredConfig;
    try {
      current = await store.read();
    } catch (error) {
      return fail(500, ErrorCode.CONFIG_READ, `cannot read the config ${store.location}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const edit = await request.edit(current);
    if (!edit.ok) return { ok: false, failure: edit.failure };

    const loaded = loadConfigText(edit.text, store.location);
    if (!loaded.ok) {
      const before = loadConfigText(current.text, store.location);
      const apiProblems = loaded.problems.map((p) => apiProblem(p, edit.focus));
      const first = apiProblems[0];
      const line = loaded.problems[0] === undefined ? '' : problemLine(loaded.problems[0]);
      const message = before.ok
        ? `the change would make the config invalid, so nothing was changed: ${first?.path ?? '$'}: ${first?.message ?? 'invalid'} (${line})`
        : `the stored config has problems, so nothing was changed; fix them first (fulcrum check -c ${store.location}): ${line}`;
      return { ok: false, failure: { status: before.ok ? 400 : 409, code: ErrorCode.CONFIG_INVALID, message, problems: loaded.problems.map(problemLine), apiProblems } };
    }
    const changed = edit.text !== current.text;
    // The file may hold edits made by hand and not reloaded yet: they go into service with this
    // change (as a SIGHUP would apply them), so the diff starts from what runs, and says so.
    const running = store.versions()[0];
    const runningText = running !== undefined && running.revision !== current.revision ? (store.version(running.id)?.text ?? null) : null;
    const base = runningText ?? current.text;
    const name = basename(store.location);
    const diff = edit.text !== base ? createTwoFilesPatch(name, name, base, edit.text, runningText === null ? 'running' : 'running (the file has edits not yet reloaded: they are in this diff)', 'after this change', { context: 3 }) : '';
    if (request.dryRun) return { ok: true, dryRun: true, changed, diff, revision: current.revision, generation: null, version: null };
    if (!changed && edit.reloadAnyway !== true) return { ok: true, dryRun: false, changed: false, diff: '', revision: current.revision, generation: null, version: null };

    const meta = { user: request.principal.user, source: request.source, summary: edit.summary };
    let stored = current;
    if (changed) {
      const written = await store.write(edit.text, { ...meta, expectedRevision: current.revision });
      if (!written.ok) {
        if (written.reason === 'stale') return fail(412, ErrorCode.ADMIN_PRECONDITION, `the config changed while this change was being made (now revision ${written.current.revision}); read it again and retry`);
        return fail(written.reason === 'read-only' ? 409 : 500, ErrorCode.CONFIG_WRITE, written.message);
      }
      stored = written.stored;
    }
    const outcome = await this.#env.reload(loaded);
    if (!outcome.ok) {
      let restored = '';
      if (changed) {
        const back = await store.write(current.text, { ...meta, summary: 'put back after a failed apply', expectedRevision: stored.revision });
        restored = back.ok ? '; the config was put back as it was' : `; the config could not be put back (${back.ok ? '' : back.reason}): fix the cause and reload`;
      }
      if (outcome.shuttingDown === true) return fail(503, ErrorCode.ADMIN_UNAVAILABLE, `the load balancer is shutting down; nothing was changed${restored}`);
      return fail(409, ErrorCode.RELOAD_FAILED, `the new config could not be applied: ${outcome.reason}${restored}`);
    }
    const version = store.remember(stored, meta);
    return { ok: true, dryRun: false, changed, diff, revision: stored.revision, generation: outcome.generation, version };
  }
}

/** "virtualServices[2].rules[0]" → "$.virtualServices[2].rules[0]"; relative to `focus` when inside it. */
export function apiProblem(problem: ConfigProblem, focus: string | undefined): ApiProblem {
  const configPath = jsonPath(problem.path);
  let path = configPath;
  if (focus !== undefined && focus !== '') {
    const rest = problem.path.startsWith(focus) ? problem.path.slice(focus.length) : null;
    if (rest !== null && (rest === '' || rest.startsWith('.') || rest.startsWith('['))) path = `$${rest}`;
  }
  const answer: ApiProblem = { path, configPath, message: problem.message, code: problem.code };
  if (problem.line > 0) {
    answer.line = problem.line;
    answer.column = problem.column;
  }
  if (problem.allowed !== undefined) answer.allowed = problem.allowed;
  if (problem.suggestion !== undefined) answer.suggestion = problem.suggestion;
  return answer;
}

function jsonPath(path: string): string {
  if (path === '') return '$';
  return path.startsWith('[') ? `$${path}` : `$.${path}`;
}

/** The compiler-style line `fulcrum check` prints for it (src/config/format.ts). */
function problemLine(p: ConfigProblem): string {
  return formatProblems([p]);
}

function fail(status: number, code: ErrorCode, message: string): ChangeResult {
  return { ok: false, failure: { status, code, message } };
}
