/**
 * `fulcrum token create NAME --role R [--expires 30d]`, `token list`, `token revoke ID`: API
 * tokens for scripts (POST, GET, DELETE /api/v1/tokens).
 *
 * create prints the secret alone on stdout and the rest on stderr, so that
 * `fulcrum token create ci --role viewer > ~/.config/fulcrum/token` or TOKEN=$(...) keeps just it.
 */
import { parseArgs } from 'node:util';
import { ROLES, isRole } from '../admin/roles.ts';
import { callAdmin } from './admin-client.ts';
import { connectAdmin } from './admin-target.ts';
import { unexpectedArgument, type GlobalOptions } from './arguments.ts';
import { EXIT_FAILED, EXIT_OK, type CommandResult } from './command.ts';
import { readLoginPassword } from './password-input.ts';
import type { AdminConnection } from './admin-target.ts';
import { failedCall, minutes, printJson } from './output.ts';
import { table } from './table.ts';

/** The API's expiresIn: minutes, hours or days (api-schemas.ts TokenCreateSchema). */
const EXPIRES = /^[0-9]+(m|h|d)$/;

interface TokenItem {
  id: string;
  name: string;
  role: string;
  user: string;
  createdAt: string;
  expiresAt: string;
  lastUsed: string | null;
}

export async function tokenCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [verb, ...rest] = args;
  if (verb === 'create') return create(rest, global);
  if (verb === 'list') return list(rest, global);
  if (verb === 'revoke') return revoke(rest, global);
  if (verb === undefined) return { usage: 'token needs a subcommand: fulcrum token create|list|revoke' };
  return { usage: `unknown token subcommand "${verb}"; use create, list or revoke` };
}

async function create(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, options: { role: { type: 'string' }, expires: { type: 'string' }, user: { type: 'string' } } });
  } catch (error) {
    return { usage: (error as Error).message };
  }
  const { values, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (name === undefined) return { usage: 'token create needs a name (what the token is for): fulcrum token create NAME --role viewer|operator|admin' };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  if (values.role === undefined) return { usage: `token create needs a role: --role ${ROLES.join('|')}` };
  if (!isRole(values.role)) return { usage: `unknown role "${values.role}"; use ${ROLES.join(', ')}` };
  if (values.expires !== undefined && !EXPIRES.test(values.expires)) return { usage: `--expires ${JSON.stringify(values.expires)}: give minutes, hours or days, e.g. 90m, 12h, 30d` };

  if (values.user !== undefined && global.token !== undefined) return { usage: 'token create takes --user (log in with a password) or --token, not both' };

  const target = await connectAdmin('token create', global);
  if (!target.ok) return target.result;
  const body: Record<string, string> = { name, role: values.role };
  if (values.expires !== undefined) body['expiresIn'] = values.expires;
  let connection = target.connection;
  let session: Record<string, string> | undefined;
  if (values.user !== undefined) {
    // The first token of a user who has none yet: log in with the password, as the console does.
    connection = { ...connection, token: { token: undefined, from: undefined } };
    const login = await logIn(connection, values.user);
    if ('result' in login) return login.result;
    session = login.headers;
  }
  const answer = await callAdmin(connection, { method: 'POST', path: '/api/v1/tokens', json: body, ...(session !== undefined ? { headers: session } : {}) });
  if (session !== undefined) await callAdmin(connection, { method: 'DELETE', path: '/api/v1/session', headers: session });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const created = answer.body as { id: string; token: string; role: string; expiresAt: string };
  process.stdout.write(`${created.token}\n`);
  process.stderr.write(
    `token ${created.id} "${name}" (${created.role}) works until ${minutes(created.expiresAt)} UTC. It is shown this once: keep it in ${target.connection.tokenFile} (chmod 600) or FULCRUM_TOKEN; revoke it with fulcrum token revoke ${created.id}\n`,
  );
  return EXIT_OK;
}

async function list(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  if (args.length > 0) return { usage: unexpectedArgument(args[0]) };
  const target = await connectAdmin('token list', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'GET', path: '/api/v1/tokens' });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const tokens = answer.body as TokenItem[];
  if (tokens.length === 0) {
    process.stdout.write('no tokens; create one with fulcrum token create NAME --role viewer|operator|admin\n');
    return EXIT_OK;
  }
  const rows = tokens.map((t) => [t.id, t.role, t.user, minutes(t.createdAt), minutes(t.expiresAt), minutes(t.lastUsed), t.name]);
  process.stdout.write(`${table(['ID', 'ROLE', 'USER', 'CREATED', 'EXPIRES', 'LAST USED', 'NAME'], rows).join('\n')}\n`);
  return EXIT_OK;
}

async function revoke(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [id, ...extra] = args;
  if (id === undefined) return { usage: 'token revoke needs the token\'s id (see fulcrum token list): fulcrum token revoke ID' };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  const target = await connectAdmin('token revoke', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'DELETE', path: `/api/v1/tokens/${encodeURIComponent(id)}` });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) printJson({ revoked: id });
  else process.stdout.write(`token ${id} revoked\n`);
  return EXIT_OK;
}

/** POST /api/v1/session with the user's password; the cookie and CSRF token that the next requests carry. */
async function logIn(connection: AdminConnection, user: string): Promise<{ headers: Record<string, string> } | { result: CommandResult }> {
  let password: string;
  try {
    password = await readLoginPassword(user);
  } catch (error) {
    process.stderr.write(`fulcrum: ${(error as Error).message}\n`);
    return { result: EXIT_FAILED };
  }
  const answer = await callAdmin(connection, { method: 'POST', path: '/api/v1/session', json: { user, password } });
  if (!answer.ok) return { result: failedCall(answer, false) };
  const cookie = [answer.headers['set-cookie'] ?? []].flat()[0]?.split(';')[0];
  const csrf = (answer.body as { csrfToken?: unknown } | undefined)?.csrfToken;
  if (cookie === undefined || typeof csrf !== 'string') {
    process.stderr.write('fulcrum: the admin API answered the login without a session\n');
    return { result: EXIT_FAILED };
  }
  return { headers: { cookie, 'x-csrf-token': csrf } };
}
