/**
 * The CLI commands that talk to a running load balancer through its admin API:
 *   fulcrum status [--json]
 *   fulcrum rs drain|enable|disable POOL ADDRESS [--json]   (POOL: a pool, or a virtual service's pool)
 *   fulcrum gslb site enable|disable FQDN SITE [--json]
 */
import type { RealServerStatus, SetSiteStateOutcome, SiteState, StatusDocument } from '../admin/types.ts';
import { unexpectedArgument, type GlobalOptions } from './arguments.ts';
import { callAdmin } from './admin-client.ts';
import { connectAdmin } from './admin-target.ts';
import { EXIT_OK, type CommandResult } from './command.ts';
import { failedCall, printJson } from './output.ts';
import { formatAnswers, formatStatusTable, siteHealth, siteReason } from './status-table.ts';

/** The verbs of `fulcrum rs` and the state each sets. */
const RS_ACTIONS = { drain: 'drain', enable: 'enabled', disable: 'disabled' } as const;
/** The verbs of `fulcrum gslb site` and the state each sets. */
const SITE_ACTIONS: Record<string, SiteState> = { enable: 'enabled', disable: 'disabled' };

export async function statusCommand(args: readonly string[], options: GlobalOptions): Promise<CommandResult> {
  if (args.length > 0) return { usage: unexpectedArgument(args[0]) };
  const target = await connectAdmin('status', options);
  if (!target.ok) return target.result;
  const answer = await callAdmin(target.connection, { method: 'GET', path: '/api/v1/status' });
  if (!answer.ok) return failedCall(answer, options.json);
  if (options.json === true) printJson(answer.body);
  else process.stdout.write(formatStatusTable(answer.body as StatusDocument));
  return EXIT_OK;
}

export async function rsCommand(args: readonly string[], options: GlobalOptions): Promise<CommandResult> {
  const [action, name, address, ...extra] = args;
  if (action === undefined) return { usage: 'rs needs an action: fulcrum rs drain|enable|disable POOL ADDRESS' };
  if (!Object.hasOwn(RS_ACTIONS, action)) return { usage: `unknown rs action "${action}"; use drain, enable or disable` };
  if (name === undefined || address === undefined) return { usage: `rs ${action} needs a pool (or a virtual service) and a real server: fulcrum rs ${action} POOL ADDRESS` };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  const state = RS_ACTIONS[action as keyof typeof RS_ACTIONS];
  const target = await connectAdmin(`rs ${action}`, options);
  if (!target.ok) return target.result;
  // A pool first (an inline pool is named after its virtual service); else a virtual service's pool.
  const at = (collection: string): string => `/api/v1/${collection}/${encodeURIComponent(name)}/real-servers/${encodeURIComponent(address)}/state`;
  let answer = await callAdmin(target.connection, { method: 'PUT', path: at('pools'), json: { state } });
  if (!answer.ok && answer.status === 404 && answer.message.startsWith('no pool named')) {
    answer = await callAdmin(target.connection, { method: 'PUT', path: at('virtual-services'), json: { state } });
  }
  if (!answer.ok) return failedCall(answer, options.json);
  if (options.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const { realServer, changed, pool } = answer.body as { realServer: RealServerStatus; changed: boolean; pool: string };
  const subject = `real server ${realServer.address} in "${pool}"`;
  let text = changed ? `${subject} is now ${realServer.state}` : `${subject} was already ${realServer.state}`;
  if (state === 'drain' || state === 'disabled') {
    text += `; ${realServer.activeRequests} active ${realServer.activeRequests === 1 ? 'request' : 'requests'}`;
    if (realServer.activeRequests > 0) text += ' (watch them reach 0 with fulcrum status before maintenance)';
  } else {
    text += `; health ${realServer.health.up ? 'UP' : `DOWN: ${realServer.health.reason}`}`;
  }
  process.stdout.write(`${text}\n`);
  return EXIT_OK;
}

/**
 * `fulcrum gslb site enable|disable FQDN SITE`: an operator puts a site back (after a manual
 * recovery hold) or takes it out. Runtime state: the config file is not written, so a restart
 * starts from the checks again.
 */
export async function gslbCommand(args: readonly string[], options: GlobalOptions): Promise<CommandResult> {
  const [noun, action, fqdn, site, ...extra] = args;
  if (noun === undefined) return { usage: 'gslb needs a subcommand: fulcrum gslb site enable|disable FQDN SITE' };
  if (noun !== 'site') return { usage: `unknown gslb subcommand "${noun}"; use: fulcrum gslb site enable|disable FQDN SITE` };
  if (action === undefined) return { usage: 'gslb site needs an action: fulcrum gslb site enable|disable FQDN SITE' };
  const state = Object.hasOwn(SITE_ACTIONS, action) ? SITE_ACTIONS[action] : undefined;
  if (state === undefined) return { usage: `unknown gslb site action "${action}"; use enable or disable` };
  if (fqdn === undefined || site === undefined) return { usage: `gslb site ${action} needs an FQDN and a site: fulcrum gslb site ${action} FQDN SITE` };
  if (extra.length > 0) return { usage: unexpectedArgument(extra[0]) };
  const target = await connectAdmin(`gslb site ${action}`, options);
  if (!target.ok) return target.result;
  const path = `/api/v1/gslb/fqdns/${encodeURIComponent(fqdn)}/sites/${encodeURIComponent(site)}/state`;
  const answer = await callAdmin(target.connection, { method: 'PUT', path, json: { state } });
  if (!answer.ok) return failedCall(answer, options.json);
  if (options.json === true) {
    printJson(answer.body);
    return EXIT_OK;
  }
  const done = answer.body as Extract<SetSiteStateOutcome, { ok: true }>;
  const health = siteHealth(done.status);
  // A disabled site's own words are "disabled by an operator": its last check is the news. An
  // enabled site that is not up yet waits for its checks; say what they say.
  let healthText: string;
  if (state === 'disabled') healthText = `last check: ${done.status.reason}`;
  else healthText = `health ${health === 'UP' ? `UP (${done.status.reason})` : `${health}: ${siteReason(done.status)}`}`;
  process.stdout.write(`site "${done.site}" of ${done.fqdn} is ${state}; ${healthText}; answers now: ${formatAnswers(done.answers)}\n`);
  return EXIT_OK;
}
