/**
 * The `fulcrum` command: check a config, start the load balancer with it, manage its users, or
 * talk to a running one through its admin API (status, rs, gslb, config, token, backup, restore).
 * Exit codes: 0 success, 1 config problems, a failed start or a failed API request, 2 a usage error.
 *
 * Every command's module is imported when that command runs and not before: --version and --help
 * load nothing but this file, and the API commands never load the config schema (zod and the
 * validators, about 0.3 s on a 2-core machine), which only check and start need.
 */
import { readFileSync } from 'node:fs';
import { splitArguments, type GlobalOptions } from './arguments.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command, type CommandResult } from './command.ts';
import { USAGE } from './usage.ts';

/** Which global options a command reads: the others would be silently ignored, so they are errors. */
type Scope = 'file' | 'user' | 'api' | 'local';

const COMMANDS: Record<string, { scope: Scope; load: () => Promise<Command> }> = {
  check: { scope: 'file', load: async () => (await import('./config-file-commands.ts')).checkCommand },
  start: { scope: 'file', load: async () => (await import('./config-file-commands.ts')).startCommand },
  user: { scope: 'user', load: loadUserCommand },
  status: { scope: 'api', load: async () => (await import('./admin-commands.ts')).statusCommand },
  rs: { scope: 'api', load: async () => (await import('./admin-commands.ts')).rsCommand },
  gslb: { scope: 'api', load: async () => (await import('./admin-commands.ts')).gslbCommand },
  config: { scope: 'api', load: async () => (await import('./config-commands.ts')).configCommand },
  token: { scope: 'api', load: async () => (await import('./token-commands.ts')).tokenCommand },
  backup: { scope: 'api', load: async () => (await import('./backup-commands.ts')).backupCommand },
  restore: { scope: 'api', load: async () => (await import('./backup-commands.ts')).restoreCommand },
  // Windows NLB migration tools: arithmetic and text on this machine, no config, no API.
  nlb: { scope: 'local', load: async () => (await import('./nlb-command.ts')).nlbCommand },
};

async function loadUserCommand(): Promise<Command> {
  const { userCommand } = await import('./user-command.ts');
  return (args, global) => userCommand(args, { config: global.config, json: global.json });
}

async function main(argv: readonly string[]): Promise<CommandResult> {
  const split = splitArguments(argv);
  if (!split.ok) return { usage: split.message };
  const { command, args, global } = split;
  if (global.help === true) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (global.version === true) {
    process.stdout.write(`fulcrum ${version()}\n`);
    return EXIT_OK;
  }
  if (command === undefined) return { usage: 'no command given' };
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) return { usage: `unknown command "${command}"` };
  const misplaced = misplacedOptions(entry.scope, global);
  if (misplaced !== undefined) return { usage: `${misplaced} ${misplaced.includes(' ') ? 'apply' : 'applies'} to the commands that talk to the admin API, not to ${command}` };
  const run = await entry.load();
  return run(args, global);
}

function misplacedOptions(scope: Scope, global: GlobalOptions): string | undefined {
  if (scope === 'api') return undefined;
  const given = (['admin', 'token', 'ca'] as const).filter((name) => global[name] !== undefined).map((name) => `--${name}`);
  // user list --json prints JSON; check and start print no document.
  if (scope === 'file' && global.json !== undefined) given.push('--json');
  if (scope === 'local' && global.config !== undefined) given.push('-c');
  return given.length === 0 ? undefined : given.join(', ');
}

function version(): string {
  const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(packageJson) as { version: string }).version;
}

/** The reason, then the usage lines; the whole help is one --help away, not 60 lines after every typo. */
function usageError(reason: string): number {
  const synopsis = USAGE.slice(0, USAGE.indexOf('\n\n'));
  process.stderr.write(`fulcrum: ${reason}\n\n${synopsis}\nRun fulcrum --help for every command and option.\n`);
  return EXIT_USAGE;
}

try {
  const result = await main(process.argv.slice(2));
  if (typeof result === 'number') process.exitCode = result;
  else if (result !== undefined) process.exitCode = usageError(result.usage);
} catch (error) {
  // Config problems never get here; this is a bug or a failure of the host (e.g. out of file descriptors).
  process.stderr.write(`fulcrum: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT_FAILED;
}
