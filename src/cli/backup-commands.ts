/**
 * `fulcrum backup [-o FILE]` and `fulcrum restore FILE`: the config text, the users and the API
 * tokens (hashed) in one JSON document (GET /api/v1/backup, POST /api/v1/restore). A backup file
 * is written atomically with mode 0600: it holds password hashes.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { callAdmin } from './admin-client.ts';
import { connectAdmin } from './admin-target.ts';
import { unexpectedArgument, type GlobalOptions } from './arguments.ts';
import { EXIT_OK, type CommandResult } from './command.ts';
import { failed, failedCall, printJson } from './output.ts';
import { writePrivateFile } from './private-file.ts';

export async function backupCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, options: { output: { type: 'string', short: 'o' } } });
  } catch (error) {
    return { usage: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) return { usage: `unexpected argument "${positionals[0]}"; write the backup to a file with -o FILE` };
  const output = values.output === '-' ? undefined : values.output;
  const target = await connectAdmin('backup', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'GET', path: '/api/v1/backup' });
  if (!answer.ok) return failedCall(answer, global.json);
  // The API's bytes as they came: a backup is restored as it was taken.
  const text = answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`;
  if (output === undefined) {
    process.stdout.write(text);
    return EXIT_OK;
  }
  try {
    await writePrivateFile(output, text);
  } catch (error) {
    return failed(`cannot write ${output}: ${(error as Error).message}`);
  }
  const backup = answer.body as { createdAt?: string; users?: unknown[]; tokens?: unknown[] } | undefined;
  const counts = `${backup?.users?.length ?? 0} users, ${backup?.tokens?.length ?? 0} tokens`;
  process.stderr.write(`wrote ${output} (mode 0600): the config, ${counts}; restore it with fulcrum restore ${output}\n`);
  return EXIT_OK;
}

export async function restoreCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  const [file, ...extra] = args;
  if (file === undefined) return { usage: 'restore needs a backup file (from fulcrum backup -o FILE): fulcrum restore FILE' };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  let backup: unknown;
  try {
    backup = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) return failed(`${file} is not a backup: it is not JSON (a backup comes from fulcrum backup -o FILE)`);
    return failed(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const target = await connectAdmin('restore', global);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'POST', path: '/api/v1/restore', json: backup });
  if (!answer.ok) return failedCall(answer, global.json);
  if (global.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const change = answer.body as { changed?: boolean; revision?: string | null; version?: string | null };
  const config = change.changed === false ? 'the config was already so' : `the config is now version ${change.version ?? change.revision ?? '?'}`;
  process.stdout.write(`restored ${file}: ${config}; users and tokens are the backup's\n`);
  return EXIT_OK;
}
