/**
 * `fulcrum user`: manage admin-plane users in the state database next to the config file,
 * without a running load balancer (a running one shares the database: SQLite's WAL mode lets both
 * use it at once, and it sees a change at the next request).
 *
 *   fulcrum user add NAME --role admin|operator|viewer -c CONFIG
 *   fulcrum user list -c CONFIG [--json]
 *   fulcrum user remove NAME -c CONFIG
 *   fulcrum user passwd NAME -c CONFIG
 *
 * The password comes from standard input when it is not a terminal (its first line), or is typed
 * twice without echo at a terminal; never from the command line, where `ps` and the shell's
 * history would keep it.
 *
 * Imports stay light (node:sqlite and the auth modules; no config loader, no zod) so the command
 * answers at once; `yaml` is loaded only when the config sets admin.database.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { passwordProblem } from '../admin/auth/passwords.ts';
import { SessionStore } from '../admin/auth/sessions.ts';
import { userNameProblem, UserStore, type UserInfo } from '../admin/auth/users.ts';
import { isRole, ROLES, type Role } from '../admin/roles.ts';
import { openStateDatabase, statePath, type StateDatabase } from '../admin/state/database.ts';
import { promptHidden, readFirstLine } from './password-input.ts';

export interface UserCommandOptions {
  config?: string | undefined;
  json?: boolean | undefined;
}

/** An exit code, or a usage error for main to print with the help. */
export type UserCommandResult = number | { usage: string };

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const SUBCOMMANDS = 'add, list, remove or passwd';
/** Standard input holding more than this before its first newline is not a password. */

export async function userCommand(args: readonly string[], options: UserCommandOptions): Promise<UserCommandResult> {
  let parsed;
  try {
    // -c and --json are main's; accepted here too so the command works whichever way it is called.
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { role: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
    });
  } catch (error) {
    return { usage: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals } = parsed;
  const [subcommand, name, ...extra] = positionals;
  const config = values.config ?? options.config;
  const json = values.json ?? options.json ?? false;

  if (subcommand === undefined) return { usage: `user needs a subcommand: ${SUBCOMMANDS}` };
  if (!['add', 'list', 'remove', 'passwd'].includes(subcommand)) return { usage: `unknown user subcommand "${subcommand}"; use ${SUBCOMMANDS}` };
  const needsName = subcommand !== 'list';
  if (needsName && name === undefined) return { usage: `user ${subcommand} needs a user name: fulcrum user ${subcommand} NAME${subcommand === 'add' ? ' --role admin|operator|viewer' : ''} -c CONFIG` };
  const unexpected = needsName ? extra[0] : name;
  if (unexpected !== undefined) return { usage: `unexpected argument "${unexpected}"` };
  if (values.role !== undefined && subcommand !== 'add') return { usage: `--role applies to user add; change a role with PUT /api/v1/users/NAME` };
  if (subcommand === 'add' && values.role === undefined) return { usage: `user add needs a role: --role ${ROLES.slice().reverse().join('|')}` };
  if (values.role !== undefined && !isRole(values.role)) return { usage: `"${values.role}" is not a role; use ${ROLES.slice().reverse().join(', ')}` };
  if (config === undefined || config === '') return { usage: `user ${subcommand} needs the config file: -c FILE (the user database is next to it)` };

  let db: StateDatabase | undefined;
  try {
    db = openStateDatabase(await databasePath(config));
    const users = new UserStore(db);
    switch (subcommand) {
      case 'add':
        return await add(db, users, name!, values.role as Role, json);
      case 'list':
        return list(db, users, json);
      case 'remove':
        return remove(users, name!, json);
      default:
        return await passwd(db, users, name!, json);
    }
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  } finally {
    db?.close();
  }
}

async function add(db: StateDatabase, users: UserStore, name: string, role: Role, json: boolean): Promise<number> {
  // Before the password is asked for: nobody should type it twice to learn the name was wrong.
  const nameProblem = userNameProblem(name);
  if (nameProblem !== null) return failed(nameProblem);
  if (users.get(name) !== undefined) return failed(`user "${name}" exists already (change their password with fulcrum user passwd ${name})`);
  const first = users.count() === 0;
  const password = await readPassword(name);
  const user = await users.add(name, role, password);
  if (json) return printJson(user);
  const note = first ? '; the admin API now needs a login or a token' : '';
  process.stdout.write(`added user "${user.name}" (${user.role}) to ${db.path}${note}\n`);
  return EXIT_OK;
}

function list(db: StateDatabase, users: UserStore, json: boolean): number {
  const all = users.list();
  if (json) return printJson(all);
  if (all.length === 0) {
    process.stdout.write(`no users in ${db.path}: the admin API answers only on loopback; add the first admin with fulcrum user add NAME --role admin -c CONFIG\n`);
    return EXIT_OK;
  }
  process.stdout.write(userTable(all));
  return EXIT_OK;
}

function remove(users: UserStore, name: string, json: boolean): number {
  users.remove(name);
  if (json) return printJson({ name, removed: true });
  process.stdout.write(`removed user "${name}"; their API tokens and sessions no longer work\n`);
  return EXIT_OK;
}

async function passwd(db: StateDatabase, users: UserStore, name: string, json: boolean): Promise<number> {
  if (users.get(name) === undefined) return failed(`no user named "${name}"`);
  const password = await readPassword(name);
  await users.setPassword(name, password);
  // Whoever knew the old password is logged out; API tokens stay (they are revoked one by one).
  const ended = new SessionStore(db).deleteForUser(name);
  if (json) return printJson({ name, passwordChanged: true, sessionsEnded: ended });
  process.stdout.write(`changed the password of "${name}"${ended > 0 ? `; ended ${ended} browser ${ended === 1 ? 'session' : 'sessions'}` : ''}\n`);
  return EXIT_OK;
}

/** NAME, ROLE, CREATED, LAST LOGIN, in aligned columns; times in UTC to the minute. */
export function userTable(users: readonly UserInfo[]): string {
  const minute = (iso: string | null): string => (iso === null ? 'never' : `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`);
  const rows = [['NAME', 'ROLE', 'CREATED', 'LAST LOGIN'], ...users.map((user) => [user.name, user.role, minute(user.createdAt), minute(user.lastLogin)])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}

/** The database path for `config`: admin.database when the config sets it, else beside the config. */
async function databasePath(config: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(config, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read the config file ${config}: ${reason} (the user database is next to it)`, { cause: error });
  }
  // Parse the YAML only when it may name another database: the usual config does not pay for the parser.
  if (!/\bdatabase"?\s*:/.test(text)) return statePath(config);
  const { parse } = await import('yaml');
  let document: unknown;
  try {
    document = parse(text);
  } catch {
    // `fulcrum check` reports a broken config; the database is found the default way meanwhile.
    return statePath(config);
  }
  const configured = (document as { admin?: { database?: unknown } } | null)?.admin?.database;
  return statePath(config, typeof configured === 'string' ? configured : undefined);
}

/** The new password: stdin's first line when it is not a terminal, else typed twice without echo. */
async function readPassword(name: string): Promise<string> {
  if (process.stdin.isTTY !== true) {
    const line = await readFirstLine(process.stdin);
    if (line === null) throw new Error(`no password on standard input: pipe it in (printf '%s\\n' "$PASSWORD" | fulcrum user ...) or run at a terminal to type it`);
    const problem = passwordProblem(line);
    if (problem !== null) throw new Error(problem);
    return line;
  }
  const first = await promptHidden(`Password for ${name}: `);
  const problem = passwordProblem(first);
  if (problem !== null) throw new Error(problem);
  const second = await promptHidden('Type it again: ');
  if (second !== first) throw new Error('the two passwords differ; nothing was changed');
  return first;
}

function printJson(value: unknown): number {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  return EXIT_OK;
}

function failed(message: string): number {
  process.stderr.write(`fulcrum: ${message}\n`);
  return EXIT_FAILED;
}
