/**
 * Where the CLI's API token comes from, first found wins: --token TOKEN, the FULCRUM_TOKEN
 * environment variable, the file $XDG_CONFIG_HOME/fulcrum/token (~/.config/fulcrum/token). No
 * token at all is fine: an admin API without users answers loopback clients as admin.
 *
 * The file is the safe place for a long-lived token (a flag shows in `ps`, a variable in
 * /proc/PID/environ of the same user); like ssh with a private key, we warn when other users may
 * read it. A warning, not a refusal: the token works, and the user learns to chmod 600.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export interface TokenSource {
  token: string | undefined;
  /** Where it came from, for messages: "--token", "FULCRUM_TOKEN", or the file's path. */
  from: string | undefined;
  warning?: string;
}

export interface TokenLookup {
  flag: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory (os.homedir()). */
  home: string;
}

export function resolveToken({ flag, env, home }: TokenLookup): TokenSource {
  if (flag !== undefined && flag !== '') return { token: flag, from: '--token' };
  const fromEnv = env['FULCRUM_TOKEN'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { token: fromEnv.trim(), from: 'FULCRUM_TOKEN' };
  const path = tokenFilePath(env, home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { token: undefined, from: undefined };
  }
  const token = text.trim();
  if (token === '') return { token: undefined, from: undefined };
  const found: TokenSource = { token, from: path };
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0) {
    found.warning = `${path} is accessible by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it private: chmod 600 ${path}`;
  }
  return found;
}

/** XDG Base Directory: $XDG_CONFIG_HOME when set to an absolute path, else ~/.config. */
export function tokenFilePath(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const configHome = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(configHome, 'fulcrum', 'token');
}
