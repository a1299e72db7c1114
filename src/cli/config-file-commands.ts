/**
 * `fulcrum check -c FILE` and `fulcrum start -c FILE`: the commands that read a config file
 * themselves, and so load the config schema (zod, the validators, certificate parsing), which the
 * commands that talk to the admin API never need.
 */
import { formatProblems } from '../config/format.ts';
import { loadConfigFile } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { unexpectedArgument, type GlobalOptions } from './arguments.ts';
import { EXIT_FAILED, EXIT_OK, type CommandResult } from './command.ts';

export function checkCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  return run('check', args, global);
}

export function startCommand(args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  return run('start', args, global);
}

async function run(command: 'check' | 'start', args: readonly string[], global: GlobalOptions): Promise<CommandResult> {
  if (args.length > 0) return { usage: unexpectedArgument(args[0]) };
  const configPath = global.config;
  if (configPath === undefined || configPath === '') return { usage: `${command} needs a config file: -c FILE` };

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
