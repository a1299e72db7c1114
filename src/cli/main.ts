/**
 * The `fulcrum` command: check a config, start the load balancer with it, or talk to a running
 * one through its admin API (status, rs, gslb).
 * Exit codes: 0 success, 1 config problems, a failed start or a failed API request, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatProblems } from '../config/format.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { gslbCommand, rsCommand, statusCommand, type CommandResult } from './admin-commands.ts';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const USAGE = `Usage: fulcrum <command> -c FILE [options]
       fulcrum status|rs|gslb ... --admin URL   (the admin API's address instead of a config file)

Commands:
  check -c FILE        Validate a config file and report every problem with its line (exit 0 valid, 1 invalid)
  start -c FILE        Start the load balancer (SIGHUP reloads the config, SIGTERM drains and stops)
  status               Show every virtual service (its pool, its rules and their hits), every pool
                       (who uses it) and real server: state, health and why, active requests; with
                       GSLB, every FQDN's answers now and each site's health and why
  rs drain|enable|disable POOL ADDRESS
                       Set a real server's state in a pool (a pool's name, or a virtual service's
                       for its pool): drain takes no new clients while the current ones
                       finish (wait for ACTIVE 0 in status before maintenance), disable takes no
                       traffic, enable takes traffic again. The change is written to the config
                       file, so it survives a reload and a restart.
  gslb site enable|disable FQDN SITE
                       Put a GSLB site back into the DNS answers (a site held down for manual
                       recovery, or one disabled) or take it out whatever its checks say. A
                       runtime change: the config file is not written, so a restart starts over.

Options:
  -c, --config FILE    Config file (YAML or JSON); see docs/configuration.md
      --admin URL      Admin API of a running fulcrum (status, rs, gslb), e.g. 127.0.0.1:9090;
                       default: admin.listen in the -c FILE
      --json           status, rs, gslb: print the API's JSON answer
  -h, --help           Show this help
  -v, --version        Print the version

Examples:
  fulcrum check -c examples/sample.yaml
  fulcrum start -c /etc/fulcrum/fulcrum.yaml
  fulcrum status -c /etc/fulcrum/fulcrum.yaml
  fulcrum rs drain web 10.0.0.11:80 --admin 127.0.0.1:9090
  fulcrum gslb site enable www.example.com primary -c /etc/fulcrum/fulcrum.yaml
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
  const adminCommand = command === 'status' ? statusCommand : command === 'rs' ? rsCommand : command === 'gslb' ? gslbCommand : undefined;
  if (adminCommand !== undefined) {
    return commandResult(await adminCommand(extra, { config: values.config, admin: values.admin, json: values.json }));
  }
  if (command !== 'check' && command !== 'start') return usageError(`unknown command "${command}"`);
  if (values.admin !== undefined || values.json !== undefined) return usageError(`--admin and --json apply to status, rs and gslb, not to ${command}`);
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
    process.stdout.write(`${configPath}: OK (${checkSummary(config)})\n`);
    return EXIT_OK;
  }

  const { runSupervisor } = await import('../supervisor/supervisor.ts');
  // The supervisor keeps the process alive and sets process.exitCode itself when it stops.
  await runSupervisor({ configPath, config });
  return undefined;
}

/** "2 virtual services", "1 virtual service, 2 pools, 4 rules", "0 virtual services, 2 GSLB FQDNs in 1 zone". */
function checkSummary(config: Config): string {
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const parts = [count(config.virtualServices.length, 'virtual service', 'virtual services')];
  const shared = config.pools.filter((pool) => !pool.inline).length;
  if (shared > 0) parts.push(count(shared, 'pool', 'pools'));
  const rules = config.virtualServices.reduce((n, vs) => n + (vs.protocol === 'http' || vs.protocol === 'https' ? vs.rules.length : 0), 0);
  if (rules > 0) parts.push(count(rules, 'rule', 'rules'));
  if (config.gslb !== undefined) {
    parts.push(`${count(config.gslb.fqdns.length, 'GSLB FQDN', 'GSLB FQDNs')} in ${count(config.gslb.zones.length, 'zone', 'zones')}`);
  }
  return parts.join(', ');
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
