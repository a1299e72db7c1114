/**
 * The first admin at first start, for containers and provisioning scripts that cannot run
 * `fulcrum user add` beforehand: when there are no users yet and both FULCRUM_ADMIN_USER and
 * FULCRUM_ADMIN_PASSWORD are set, that admin is created. There is never a default password: with
 * neither set, the admin API stays on loopback without users until someone creates one.
 *
 * The password is removed from `env` once read, so that worker processes forked afterwards do not
 * inherit it (anyone who may read /proc/PID/environ of a worker would see it otherwise).
 */
import { ErrorCode, FulcrumError } from '../errors.ts';
import { passwordProblem } from './auth/passwords.ts';
import { userNameProblem, type UserStore } from './auth/users.ts';

export const ADMIN_USER_VARIABLE = 'FULCRUM_ADMIN_USER';
export const ADMIN_PASSWORD_VARIABLE = 'FULCRUM_ADMIN_PASSWORD';

/** What the supervisor logs at start (pino's logger fits). */
export interface FirstAdminLog {
  info(message: string): void;
  warn(message: string): void;
}

export type FirstAdminOutcome =
  | { action: 'created'; user: string }
  /** Users exist: the variables (if set) were ignored. */
  | { action: 'users-exist'; users: number }
  /** No users and no variables: the API answers on loopback only, without authentication. */
  | { action: 'none' };

/**
 * Create the first admin from the environment when there are no users; log and answer what
 * happened. Throws FulcrumError(ADMIN_BAD_REQUEST) when only one variable is set, the name is not
 * valid or the password breaks the policy: starting without the admin the operator asked for would
 * leave them locked out of a remote console.
 */
export async function ensureFirstAdmin(users: UserStore, env: NodeJS.ProcessEnv, log: FirstAdminLog): Promise<FirstAdminOutcome> {
  const name = env[ADMIN_USER_VARIABLE];
  const password = env[ADMIN_PASSWORD_VARIABLE];
  delete env[ADMIN_PASSWORD_VARIABLE];
  const nameSet = name !== undefined && name !== '';
  const passwordSet = password !== undefined && password !== '';

  const existing = users.count();
  if (existing > 0) {
    if (nameSet || passwordSet) {
      log.warn(`${ADMIN_USER_VARIABLE}/${ADMIN_PASSWORD_VARIABLE} ignored: users exist already (${existing}); manage them with fulcrum user or the API, and remove the variables from the service's environment`);
    }
    return { action: 'users-exist', users: existing };
  }
  if (!nameSet && !passwordSet) {
    log.warn(`no users: the admin API answers only on loopback, where every client is admin; create the first admin with \`fulcrum user add NAME --role admin -c CONFIG\`, or set ${ADMIN_USER_VARIABLE} and ${ADMIN_PASSWORD_VARIABLE} at first start`);
    return { action: 'none' };
  }
  if (!nameSet) throw firstAdminError(`${ADMIN_PASSWORD_VARIABLE} is set but ${ADMIN_USER_VARIABLE} is not: set both to create the first admin, or neither`);
  if (!passwordSet) throw firstAdminError(`${ADMIN_USER_VARIABLE} is set but ${ADMIN_PASSWORD_VARIABLE} is not: set both to create the first admin, or neither (there is no default password)`);
  const nameProblem = userNameProblem(name);
  if (nameProblem !== null) throw firstAdminError(`${ADMIN_USER_VARIABLE}: ${nameProblem}`);
  const policy = passwordProblem(password);
  if (policy !== null) throw firstAdminError(`${ADMIN_PASSWORD_VARIABLE}: ${policy}`);

  try {
    await users.add(name, 'admin', password);
  } catch (error) {
    // Another process (a fulcrum user add) created a user meanwhile: theirs stands.
    if (error instanceof FulcrumError && error.code === ErrorCode.ADMIN_EXISTS) return { action: 'users-exist', users: users.count() };
    throw error;
  }
  log.info(`created the first admin "${name}" from ${ADMIN_USER_VARIABLE} and ${ADMIN_PASSWORD_VARIABLE}; the variables are no longer needed: remove them from the service's environment`);
  return { action: 'created', user: name };
}

function firstAdminError(message: string): FulcrumError {
  return new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, `cannot create the first admin: ${message}`);
}
