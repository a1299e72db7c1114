/**
 * The `fulcrum` command: check a config, start the load balancer with it, or talk to a running
 * one through its admin API (status, rs).
 * Exit codes: 0 success, 1 config problems, a failed start or a failed API request, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProblems } from '../config/format.ts';
import { loadConfigFile } from '../config/load.ts';
import { rsCommand, statusCommand, type CommandResult } from './admin-commands.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USAGE = `Usage: fulcrum <command> -c FILE [options]
       fulcrum status|rs ... --admin URL   (the admin API's address instead of a config file)

Commands:
  check -c FILE        Validate a config file and report every problem with its line (exit 0 valid, 1 invalid)
  start -c FILE        Start the load balancer (SIGHUP reloads the config, SIGTERM drains and stops)
  status               Show every virtual service and real server: state, health and why, active requests
  rs drain|enable|disable VS ADDRESS
                       Set a real server's state: drain takes no new clients while the current ones
                       finish (wait for ACTIVE 0 in status before maintenance), disable takes no
                       traffic, enable takes traffic again. The change is written to the config
                       file, so it survives a reload and a restart.

Options:
  -c, --config FILE    Config file (YAML or JSON); see docs/configuration.md
      --admin URL      Admin API of a running fulcrum (status, rs), e.g. 127.0.0.1:9090;
                       default: admin.listen in the -c FILE
      --json           status, rs: print the API's JSON answer
  -h, --help           Show this help
  -v, --version        Print the version

Examples:
  fulcrum check -c examples/sample.yaml
  fulcrum start -c /etc/fulcrum/fulcrum.yaml
  fulcrum status -c /etc/fulcrum/fulcrum.yaml
  fulcrum rs drain web 10.0.0.11:80 --admin 127.0.0.1:9090
`;

async function main(argv: readonly string[]): Promise<number | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        admin: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (values.version === true) {
    process.stdout.write(`fulcrum ${version()}\n`);
    return EXIT_OK;
  }

  const [command, ...extra] = positionals;
  if (command === undefined) return usageError('no command given');
  if (command === 'status' || command === 'rs') {
    const options = { config: values.config, admin: values.admin, json: values.json };
    return commandResult(command === 'status' ? await statusCommand(extra, options) : await rsCommand(extra, options));
  }
  if (command !== 'check' && command !== 'start') return usageError(`unknown command "${command}"`);
  if (values.admin !== undefined || values.json !== undefined) return usageError(`--admin and --json apply to status and rs, not to ${command}`);
  if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`);
  const configPath = values.config;
  if (configPath === undefined || configPath === '') return usageError(`${command} needs a config file: -c FILE`);

  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    const count = loaded.problems.length;
    process.stderr.write(`${formatProblems(loaded.problems)}\n${configPath}: ${count} ${count === 1 ? 'problem' : 'problems'}\n`);
    return EXIT_FAILED;
  }
  const { config } = loaded;
  if (command === 'check') {
    const count = config.virtualServices.length;
    process.stdout.write(`${configPath}: OK (${count} ${count === 1 ? 'virtual service' : 'virtual services'})\n`);
    return EXIT_OK;
  }

  const { runSupervisor } = await import('../supervisor/supervisor.ts');
  // The supervisor keeps the process alive and sets process.exitCode itself when it stops.
  await runSupervisor({ configPath, config });
  return undefined;
}

function commandResult(result: CommandResult): number {
  return typeof result === 'number' ? result : usageError(result.usage);
}

function usageError(reason: string): number {
  process.stderr.write(`fulcrum: ${reason}\n\n${USAGE}`);
  return EXIT_USAGE;
}

function version(): string {
  const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(packageJson) as { version: string }).version;
}

try {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (error) {
  // Config problems never get here; this is a bug or a failure of the host (e.g. out of file descriptors).
  process.stderr.write(`fulcrum: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT_FAILED;
}
