/**
 * `fulcrum nlb`: the tools for moving off Windows NLB, on this machine (no config file, no API).
 *
 *   fulcrum nlb ip2mac VIP [--mode unicast|multicast|igmp] [--json]
 *   fulcrum nlb switch-config VIP --mode M --vendor cisco|dell|hp --vlan N --ports P[,P...] [--json]
 *   fulcrum nlb import FILE... [--address NODE=IP ...] [--ports LIST]
 *
 * This module loads nothing but node:util (which main has loaded already): usage.ts can take
 * USAGE from here without loading the NLB modules on every `fulcrum` start, and each subcommand
 * loads its modules when it runs.
 */
import { parseArgs } from 'node:util';
import type { Ipv4Bytes, NlbMode } from '../nlb/cluster-mac.ts';

export const USAGE = `Usage: fulcrum nlb ip2mac|switch-config|import ...   (moving off Windows NLB; no config, no API)

  nlb ip2mac VIP [--mode unicast|multicast|igmp] [--json]
                       The cluster MAC Windows NLB uses for cluster IP VIP in each mode, as Windows
                       (02-bf-c0-a8-01-64), Cisco (02bf.c0a8.0164) and colon notation write it, and
                       IGMP multicast mode's group (239.255.x.y); --mode: that mode only
  nlb switch-config VIP --mode unicast|multicast|igmp --vendor cisco|dell|hp --vlan N --ports P[,P...]
                       The switch lines NLB's mode needs (static ARP and MAC-table entries, IGMP
                       snooping and querier), each block with a comment saying why, then the lines
                       that remove them after the migration. --ports: the switch ports that lead to
                       the nodes, in the switch's naming (Gi1/0/1 on Cisco, g1 on a PowerConnect,
                       A1 or 1 on ProCurve). dell: PowerConnect 5424/5448; hp: ProCurve and
                       ArubaOS-Switch
  nlb import FILE... [--address NODE=IP ...] [--ports LIST]
                       A Fulcrum config, on standard output, from what Get-NlbCluster,
                       Get-NlbClusterNode, Get-NlbClusterNodeDip and Get-NlbClusterPortRule print
  nlb help             This help

--json prints one JSON object. ip2mac: {vip, modes: {MODE: {mac: {windows, cisco, colon}, group}}};
switch-config: {vip, mode, vendor, vlan, ports, group, mac: {windows, cisco, colon, switch}, add,
remove}, where add and remove are the commands without the comments. group is null but in igmp mode.

Exit codes: 0 done, 1 failed (import), 2 usage.

Examples:
  fulcrum nlb ip2mac 192.168.1.100
  fulcrum nlb ip2mac 172.31.3.232 --mode igmp --json
  fulcrum nlb switch-config 172.31.1.232 --mode multicast --vendor cisco --vlan 10 --ports Gi1/0/1,Gi1/0/2
  fulcrum nlb switch-config 172.31.1.232 --mode multicast --vendor dell --vlan 10 --ports g1,g2
`;

/** An exit code, or a usage error for main to print. */
export type NlbCommandResult = number | { usage: string };

export interface NlbGlobalOptions {
  json?: boolean | undefined;
}

/** What src/nlb/import/command.ts exports; loaded by a computed path, so this file compiles before it exists. */
interface ImportCommandModule {
  importCommand(args: readonly string[], global: NlbGlobalOptions): Promise<NlbCommandResult>;
}

const IMPORT_MODULE: string = '../nlb/import/command.ts';
const SUBCOMMANDS = ['ip2mac', 'switch-config', 'import', 'help'];
const IP2MAC_SYNOPSIS = 'fulcrum nlb ip2mac VIP [--mode unicast|multicast|igmp]';
const SWITCH_SYNOPSIS = 'fulcrum nlb switch-config VIP --mode unicast|multicast|igmp --vendor cisco|dell|hp --vlan N --ports P[,P...]';

export async function nlbCommand(args: readonly string[], global: NlbGlobalOptions): Promise<NlbCommandResult> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'ip2mac':
      return ip2mac(rest, global);
    case 'switch-config':
      return switchConfig(rest, global);
    case 'import':
      return ((await import(IMPORT_MODULE)) as ImportCommandModule).importCommand(rest, global);
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      return { usage: 'nlb needs a subcommand: ip2mac, switch-config or import (fulcrum nlb help tells more)' };
    default: {
      const { suggest } = await import('../config/suggest.ts');
      const guess = subcommand.startsWith('-') ? undefined : suggest(subcommand, SUBCOMMANDS);
      return { usage: `unknown nlb subcommand "${subcommand}"${guess === undefined ? '' : ` (did you mean ${guess}?)`}; use ip2mac, switch-config or import` };
    }
  }
}

type Parsed<T> = { ok: true; value: T } | { ok: false; usage: string };

/** parseArgs throws on an unknown option or a missing value, with a message fit for a usage error. */
function usageOf(error: unknown): { usage: string } {
  return { usage: error instanceof Error ? error.message : String(error) };
}

/** The cluster IP: the one positional argument. */
async function clusterIpArgument(positionals: readonly string[], synopsis: string): Promise<Parsed<Ipv4Bytes>> {
  const [text, extra] = positionals;
  if (text === undefined) return { ok: false, usage: `the cluster IP is missing: ${synopsis}` };
  if (extra !== undefined) return { ok: false, usage: `unexpected argument "${extra}": ${synopsis}` };
  const { parseClusterIp } = await import('../nlb/cluster-mac.ts');
  const ip = parseClusterIp(text);
  return ip.ok ? ip : { ok: false, usage: ip.message };
}

async function modeOption(text: string): Promise<Parsed<NlbMode>> {
  const { parseNlbMode, NLB_MODES } = await import('../nlb/cluster-mac.ts');
  const mode = parseNlbMode(text);
  if (mode !== undefined) return { ok: true, value: mode };
  return { ok: false, usage: `--mode "${text}" is not an NLB mode: use unicast, multicast or igmp${await didYouMean(text, NLB_MODES)}` };
}

async function didYouMean(text: string, candidates: readonly string[]): Promise<string> {
  const { suggest } = await import('../config/suggest.ts');
  const guess = suggest(text, candidates);
  return guess === undefined ? '' : ` (did you mean ${guess}?)`;
}

async function ip2mac(args: readonly string[], global: NlbGlobalOptions): Promise<NlbCommandResult> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, options: { mode: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (error) {
    return usageOf(error);
  }
  const { values, positionals } = parsed;
  const ip = await clusterIpArgument(positionals, IP2MAC_SYNOPSIS);
  if (!ip.ok) return ip;
  const { NLB_MODES, clusterMac, formatIpv4, igmpGroup, macForms } = await import('../nlb/cluster-mac.ts');
  let modes: readonly NlbMode[] = NLB_MODES;
  if (values.mode !== undefined) {
    const mode = await modeOption(values.mode);
    if (!mode.ok) return mode;
    modes = [mode.value];
  }
  const rows = modes.map((mode) => ({ mode, mac: macForms(clusterMac(ip.value, mode)), group: mode === 'igmp' ? igmpGroup(ip.value) : null }));
  if (values.json ?? global.json ?? false) {
    const { printJson } = await import('./output.ts');
    printJson({ vip: formatIpv4(ip.value), modes: Object.fromEntries(rows.map(({ mode, mac, group }) => [mode, { mac, group }])) });
    return 0;
  }
  const { table } = await import('./table.ts');
  const lines = table(
    ['MODE', 'WINDOWS', 'CISCO', 'COLON', 'IGMP GROUP'],
    rows.map(({ mode, mac, group }) => [mode, mac.windows, mac.cisco, mac.colon, group ?? '-']),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function switchConfig(args: readonly string[], global: NlbGlobalOptions): Promise<NlbCommandResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        mode: { type: 'string' },
        vendor: { type: 'string' },
        vlan: { type: 'string' },
        // Several --ports add up: --ports Gi1/0/1 --ports Gi1/0/2 is --ports Gi1/0/1,Gi1/0/2.
        ports: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    return usageOf(error);
  }
  const { values, positionals } = parsed;
  const ip = await clusterIpArgument(positionals, SWITCH_SYNOPSIS);
  if (!ip.ok) return ip;
  const missing = (['mode', 'vendor', 'vlan', 'ports'] as const).filter((name) => values[name] === undefined).map((name) => `--${name}`);
  if (missing.length > 0) return { usage: `nlb switch-config needs ${missing.join(', ')}: ${SWITCH_SYNOPSIS}` };
  const mode = await modeOption(values.mode!);
  if (!mode.ok) return mode;

  const { SWITCH_VENDORS, commandsOf, parsePorts, parseVendor, parseVlan, renderSnippet, switchSnippet } = await import('../nlb/switch-config.ts');
  const vendor = parseVendor(values.vendor!);
  if (vendor === undefined) {
    return { usage: `--vendor "${values.vendor}" is not one of cisco, dell (PowerConnect 5424/5448) or hp (ProCurve, ArubaOS-Switch)${await didYouMean(values.vendor!, SWITCH_VENDORS)}` };
  }
  const vlan = parseVlan(values.vlan!);
  if (!vlan.ok) return { usage: vlan.message };
  const ports = parsePorts(values.ports!);
  if (!ports.ok) return { usage: ports.message };

  const snippet = switchSnippet({ ip: ip.value, mode: mode.value, vendor, vlan: vlan.value, ports: ports.value });
  if (values.json ?? global.json ?? false) {
    const { clusterMac, formatIpv4, igmpGroup, macForms } = await import('../nlb/cluster-mac.ts');
    const { printJson } = await import('./output.ts');
    printJson({
      vip: formatIpv4(ip.value),
      mode: mode.value,
      vendor,
      vlan: vlan.value,
      ports: ports.value,
      group: mode.value === 'igmp' ? igmpGroup(ip.value) : null,
      mac: { ...macForms(clusterMac(ip.value, mode.value)), switch: snippet.switchMac },
      add: commandsOf(snippet.add),
      remove: commandsOf(snippet.remove),
    });
    return 0;
  }
  process.stdout.write(renderSnippet(snippet));
  return 0;
}
