/**
 * The CLI commands that talk to a running load balancer through its admin API:
 *   fulcrum status [--json]
 *   fulcrum rs drain|enable|disable VS ADDRESS [--json]
 */
import type { RealServerStatus, StatusDocument } from '../admin/types.ts';
import { callAdmin, resolveAdminUrl } from './admin-client.ts';
import { formatStatusTable } from './status-table.ts';

export interface AdminCommandOptions {
  config?: string | undefined;
  admin?: string | undefined;
  json?: boolean | undefined;
}

/** An exit code, or a usage error for main to print with the help. */
export type CommandResult = number | { usage: string };

const EXIT_OK = 0;
const EXIT_FAILED = 1;

/** The verbs of `fulcrum rs` and the state each sets. */
const RS_ACTIONS = { drain: 'drain', enable: 'enabled', disable: 'disabled' } as const;

export async function statusCommand(args: readonly string[], options: AdminCommandOptions): Promise<CommandResult> {
  if (args.length > 0) return { usage: `unexpected argument "${args[0]}"` };
  const target = await resolveAdminUrl('status', options.admin, options.config);
  if (!target.ok) return target.usage ? { usage: target.message } : failed(target.message);
  const answer = await callAdmin(target.url, 'GET', '/api/v1/status');
  if (!answer.ok) return failed(answer.message);
  process.stdout.write(options.json === true ? `${JSON.stringify(answer.body, null, 2)}\n` : formatStatusTable(answer.body as StatusDocument));
  return EXIT_OK;
}

export async function rsCommand(args: readonly string[], options: AdminCommandOptions): Promise<CommandResult> {
  const [action, virtualService, address, ...extra] = args;
  if (action === undefined) return { usage: 'rs needs an action: fulcrum rs drain|enable|disable VS ADDRESS' };
  if (!Object.hasOwn(RS_ACTIONS, action)) return { usage: `unknown rs action "${action}"; use drain, enable or disable` };
  if (virtualService === undefined || address === undefined) return { usage: `rs ${action} needs a virtual service and a real server: fulcrum rs ${action} VS ADDRESS` };
  if (extra.length > 0) return { usage: `unexpected argument "${extra[0]}"` };
  const state = RS_ACTIONS[action as keyof typeof RS_ACTIONS];
  const target = await resolveAdminUrl(`rs ${action}`, options.admin, options.config);
  if (!target.ok) return target.usage ? { usage: target.message } : failed(target.message);
  const path = `/api/v1/virtual-services/${encodeURIComponent(virtualService)}/real-servers/${encodeURIComponent(address)}/state`;
  const answer = await callAdmin(target.url, 'PUT', path, { state });
  if (!answer.ok) return failed(answer.message);
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
    return EXIT_OK;
  }
  const { realServer, changed } = answer.body as { realServer: RealServerStatus; changed: boolean };
  const subject = `real server ${realServer.address} in "${virtualService}"`;
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

function failed(message: string): number {
  process.stderr.write(`fulcrum: ${message}\n`);
  return EXIT_FAILED;
}
