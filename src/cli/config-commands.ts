/**
 * The running config through the admin API:
 *   fulcrum config diff FILE      what applying FILE would change (PUT /api/v1/config?dryRun=true)
 *   fulcrum config apply FILE     apply it (PUT with If-Match of the version just read)
 *   fulcrum config history        the last versions (GET /api/v1/config/versions)
 *   fulcrum config restore ID     make a version current again (POST .../versions/{id}/restore)
 * FILE goes as its YAML text, comments and all; the API validates it exactly as `fulcrum check`
 * does, and its problems come back with lines in FILE, printed FILE:LINE:COL: as check prints them.
 */
import { readFile } from 'node:fs/promises';
import { callAdmin, type AdminAnswer, type ApiProblem } from './admin-client.ts';
import { connectAdmin } from './admin-target.ts';
import { unexpectedArgument, type GlobalOptions } from './arguments.ts';
import { EXIT_FAILED, EXIT_OK, type CommandResult } from './command.ts';
import { failed, failedCall, minutes, printJson } from './output.ts';
import { table } from './table.ts';

/** What every config write answers (api-schemas.ts ConfigChangeSchema). */
interface ConfigChange {
  dryRun: boolean;
  changed: boolean;
  diff: string;
  revision: string | null;
  version?: string | null;
}

interface ConfigVersion {
  id: string;
  revision: string;
  createdAt: string;
  user: string | null;
  source: string;
  summary: string;
  current?: boolean;
}

export async function configCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [verb, ...rest] = args;
  if (verb === 'diff' || verb === 'apply') return sendFile(verb, rest, global);
  if (verb === 'history') return history(rest, global);
  if (verb === 'restore') return restoreVersion(rest, global);
  if (verb === undefined) return { usage: 'config needs a subcommand: fulcrum config diff|apply FILE, config history, config restore ID' };
  return { usage: `unknown config subcommand "${verb}"; use diff, apply, history or restore` };
}

async function sendFile(verb: 'diff' | 'apply', args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [file, ...extra] = args;
  if (file === undefined) return { usage: `config ${verb} needs the config file to ${verb === 'diff' ? 'compare' : 'apply'}: fulcrum config ${verb} FILE` };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return failed(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const target = await connectAdmin(`config ${verb}`, global);
  if (!target.ok) return target.result;
  const { connection } = target;

  let ifMatch: string | undefined;
  if (verb === 'apply') {
    // The version this apply replaces: if someone else changes the config in between, the API
    // answers 412 and nothing of theirs is overwritten.
    const current = await callAdmin(connection, { method: 'GET', path: '/api/v1/config' });
    if (!current.ok) return failedCall(current, global.json);
    ifMatch = current.etag;
  }
  const path = verb === 'diff' ? '/api/v1/config?dryRun=true' : '/api/v1/config';
  const answer = await callAdmin(connection, { method: 'PUT', path, yaml: text, ...(ifMatch === undefined ? {} : { ifMatch }) });
  if (!answer.ok) return refused(answer, file, global);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const change = answer.body as ConfigChange;
  if (!change.changed) {
    process.stdout.write(`${file} is the running config already; nothing to ${verb === 'diff' ? 'change' : 'apply'}\n`);
    return EXIT_OK;
  }
  process.stdout.write(withNewline(change.diff));
  if (verb === 'apply') process.stdout.write(`applied ${file}: the config is now version ${versionName(change)}\n`);
  return EXIT_OK;
}

/** A config the API would not take: each problem at its line in FILE, as `fulcrum check` prints it. */
function refused(answer: Extract<AdminAnswer, { ok: false }>, file: string, global: GlobalOptions): number {
  if (answer.status === 412) return failedCall({ ...answer, message: `${answer.message}\nsomeone changed the config while this apply ran; look at fulcrum config diff ${file} and apply again` }, global.json);
  if (answer.status !== 400 || answer.problems.length === 0) return failedCall(answer, global.json);
  if (global.json === true && answer.body !== undefined) printJson(answer.body);
  const count = answer.problems.length;
  process.stderr.write(`${answer.problems.map((p) => problemLine(file, p)).join('\n')}\n${file}: ${count} ${count === 1 ? 'problem' : 'problems'}\n`);
  return EXIT_FAILED;
}

/** As `fulcrum check` prints it: FILE:7:5: virtualServices[0].schedular: unknown key; did you mean "scheduler"? allowed keys: ... */
export function problemLine(file: string, problem: ApiProblem): string {
  const where = problem.line !== undefined ? `${file}:${problem.line}:${problem.column ?? 1}` : file;
  const path = (problem.configPath ?? problem.path).replace(/^\$\.?/, '');
  let text = `${where}: ${path === '' ? '' : `${path}: `}${problem.message}`;
  const suggest = problem.suggestion !== undefined && !problem.message.includes('did you mean');
  if (suggest) text += `; did you mean ${/^(true|false|[0-9]+)$/.test(problem.suggestion!) ? problem.suggestion : JSON.stringify(problem.suggestion)}?`;
  if (problem.allowed !== undefined && !problem.message.includes(problem.allowed)) {
    text += `${suggest ? '' : ';'} ${problem.code === 'FULCRUM_ERR_CONFIG_UNKNOWN_KEY' ? 'allowed keys' : 'allowed'}: ${problem.allowed}`;
  }
  return text;
}

async function history(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  if (args.length > 0) return { usage: unexpectedArgument(args[0]) };
  const target = await connectAdmin('config history', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'GET', path: '/api/v1/config/versions' });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const versions = answer.body as ConfigVersion[];
  const rows = versions.map((v) => [`${v.id}${v.current === true ? ' *' : ''}`, minutes(v.createdAt), v.user ?? '-', v.source, v.summary]);
  const lines = table(['ID', 'WHEN (UTC)', 'USER', 'SOURCE', 'SUMMARY'], rows);
  if (versions.some((v) => v.current === true)) lines.push('', '* the running config; go back to another with: fulcrum config restore ID');
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

async function restoreVersion(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [id, ...extra] = args;
  if (id === undefined) return { usage: 'config restore needs a version id (see fulcrum config history): fulcrum config restore ID' };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  const target = await connectAdmin('config restore', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'POST', path: `/api/v1/config/versions/${encodeURIComponent(id)}/restore` });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const change = answer.body as ConfigChange;
  if (!change.changed) {
    process.stdout.write(`version ${id} is the running config already\n`);
    return EXIT_OK;
  }
  process.stdout.write(`${withNewline(change.diff)}restored version ${id}: the config is now version ${versionName(change)}\n`);
  return EXIT_OK;
}

/** The new version's id when the API gives one (what config history and restore take), else its revision. */
function versionName(change: ConfigChange): string {
  if (typeof change.version === 'string' && change.version !== '') return change.revision === null ? change.version : `${change.version} (revision ${change.revision})`;
  return change.revision ?? '?';
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}
