/**
 * The NLB model (model.ts) as a Fulcrum config plan (plan.ts): one tcp or udp virtual service per
 * port rule, cluster IP address, port and protocol (Both makes two), each with every node as a
 * real server at its dedicated address and the rule's port. What does not carry over is listed
 * at the top of the file, never dropped silently.
 *
 * Fulcrum listens on one port per virtual service. A port range becomes one virtual service per
 * port, up to MAX_RANGE_PORTS; a wider range (NLB's default rule covers 0-65535) stops the import
 * and asks for --ports, the ports clients really use.
 */
import { formatAddress } from '../../config/address.ts';
import type { ExtraField, NlbCluster, NlbExport, NlbPortRule } from './model.ts';
import { resolveNodes, sameNode, type NodeTarget } from './nodes.ts';
import type { ImportPlan, RealServerDraft, ServicePlan, VirtualServiceDraft } from './plan.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';
import { scheduleRule, type RuleScheduling } from './scheduling.ts';
import { suggestHealthCheck } from './health.ts';

/** FTP's control port: as protocol tcp its data connections (PASV ports, PORT) are not followed. */
const FTP_PORT = 21;
const FTP_ADVICE =
  'change it to protocol: ftp with ftp: { mode: alg, passivePorts: FIRST-LAST } (port-following for explicit FTPS; activeMode proxy or refuse), and remove the tcp services written for the servers\' passive port range';

/** 64 virtual services are still a file a person reads through; a wider range is rarely all in use. */
export const MAX_RANGE_PORTS = 64;

export interface ImportOptions {
  /** The input files, for the header. */
  files: readonly string[];
  /** --address NODE=IP, as given. */
  addresses: ReadonlyMap<string, string>;
  /** --ports: import only these ports; undefined: every port of each rule. */
  ports: ReadonlySet<number> | undefined;
}

export type PlanResult = { ok: true; plan: ImportPlan } | { ok: false; problems: ImportProblem[]; warnings: string[] };

const PROTOCOL_LABEL = { tcp: 'Tcp', udp: 'Udp', both: 'Both' } as const;
const MODE_LABEL = { multiple: 'Multiple hosts', single: 'Single host', disabled: 'Disabled' } as const;

export function ruleLabel(rule: NlbPortRule): string {
  const ports = rule.startPort === rule.endPort ? `${rule.startPort}` : `${rule.startPort}-${rule.endPort}`;
  return `${rule.vip === 'all' ? 'All' : rule.vip} ${ports} ${PROTOCOL_LABEL[rule.protocol]}`;
}

export function planImport(exported: NlbExport, options: ImportOptions, inputWarnings: readonly string[]): PlanResult {
  const problems: ImportProblem[] = [];
  const warnings = [...inputWarnings];
  const skipped: string[] = [];

  const cluster = singleCluster(exported, problems);
  const clusterName = cluster?.name ?? exported.clusterNames[0];
  const vips = unique([cluster?.ipAddress, ...exported.vips.map((vip) => vip.ipAddress), ...exported.portRules.map((rule) => (rule.vip === 'all' ? undefined : rule.vip))]);
  if (exported.portRules.length === 0) {
    problems.push(problem(NlbImportCode.CLUSTER, 'the input has no port rules: add the output of Get-NlbClusterPortRule (better, Get-NlbClusterNode | Get-NlbClusterPortRule | Format-List -Property *, which carries each node\'s weight and priority)'));
  }
  const resolved = resolveNodes(exported, options.addresses);
  problems.push(...resolved.problems);
  warnings.push(...resolved.warnings);
  const nodes = resolved.nodes;

  for (const target of nodes) {
    const state = target.node?.state;
    if (state !== undefined && !/^converg/i.test(state)) {
      warnings.push(`node ${target.name} was ${state} in NLB when this was exported; here it is an enabled real server (set state: disabled on its entries to keep it out)`);
    }
  }

  const services: ServicePlan[] = [];
  const names = new Set<string>();
  /** "10.0.0.100|tcp|80" -> the rule that listens there: NLB refuses overlapping rules, so a clash means inconsistent input. */
  const listeners = new Map<string, string>();
  const fellBack = { multiple: [] as string[], single: [] as string[] };
  const coveredPorts = new Set<number>();
  const allRulesApplied: string[] = [];
  /** Said after the fallbacks above, which concern most rules at once. */
  const ruleWarnings: string[] = [];
  for (const rule of exported.portRules) {
    const label = ruleLabel(rule);
    if (rule.mode === 'disabled') {
      skipped.push(`${label}: filtering mode Disabled (NLB drops this traffic; nothing listens for it here)`);
      continue;
    }
    const ports = portsOf(rule, label, options.ports, problems, skipped);
    for (const port of ports) coveredPorts.add(port);
    const targets = rule.vip === 'all' ? vips : [rule.vip];
    if (rule.vip === 'all' && vips.length === 0) {
      problems.push(problem(NlbImportCode.VALUE, `port rule ${label} applies to every cluster IP address, and the input names none: add the output of Get-NlbCluster (and Get-NlbClusterVip for additional addresses)`));
      continue;
    }
    if (ports.length === 0 || nodes.length === 0) continue;
    const scheduling = scheduleRule(rule, nodes, label);
    problems.push(...scheduling.problems);
    warnings.push(...scheduling.warnings);
    if (scheduling.fellBack) fellBack[rule.mode === 'single' ? 'single' : 'multiple'].push(label);
    if (rule.vip === 'all') allRulesApplied.push(label);
    const perVip = ports.length * transportsOf(rule).length;
    if (scheduling.persistence !== undefined && perVip > 1) {
      ruleWarnings.push(
        `port rule ${label}: NLB affinity ${rule.affinity === 'network' ? 'Network' : 'Single'} keeps a client on one node for every port of the rule; here it becomes ${perVip} virtual services, and each Fulcrum virtual service keeps its own persistence table, so a client may reach different real servers on different ports`,
      );
    }
    if (transportsOf(rule).includes('tcp') && ports.includes(FTP_PORT)) {
      ruleWarnings.push(`port rule ${label}: port ${FTP_PORT} (FTP) is written as protocol tcp, which breaks FTP data connections; ${FTP_ADVICE}`);
    }
    for (const vip of targets) {
      for (const port of ports) {
        for (const transport of transportsOf(rule)) {
          const owner = rule.vip === 'all' ? specificRuleFor(exported, vip, port, transport) : undefined;
          if (owner !== undefined) {
            skipped.push(`${label} on ${vip} port ${port} ${transport.toUpperCase()}: its own rule ${ruleLabel(owner)} applies there`);
            continue;
          }
          const where = `${vip}|${transport}|${port}`;
          const other = listeners.get(where);
          if (other !== undefined) {
            problems.push(problem(NlbImportCode.VALUE, `port rules ${other} and ${label} both cover ${vip} port ${port} ${transport.toUpperCase()}, which NLB does not allow; the files mix outputs of different times or clusters: export them again`));
            continue;
          }
          listeners.set(where, label);
          const name = serviceName(clusterName, vip, transport, port, names);
          services.push(servicePlan({ rule, label, name, vip, port, transport, nodes, scheduling }));
        }
      }
    }
  }
  if (fellBack.multiple.length > 0) {
    warnings.push(`port rules ${fellBack.multiple.join('; ')}: the input has no per-node load weights (the table form does not show them), so every node gets an equal share; if some had other weights, import Get-NlbClusterNode | Get-NlbClusterPortRule | Format-List -Property * too`);
  }
  if (fellBack.single.length > 0) {
    warnings.push(`port rules ${fellBack.single.join('; ')}: handling priorities taken from the nodes' host priorities (Get-NlbClusterNode), NLB's default; import Get-NlbClusterNode | Get-NlbClusterPortRule | Format-List -Property * to use the rules' own`);
  }
  warnings.push(...ruleWarnings);
  for (const port of options.ports ?? []) if (!coveredPorts.has(port)) warnings.push(`--ports ${port}: no enabled port rule covers it`);
  if (allRulesApplied.length > 0 && exported.vips.length === 0 && vips.length > 0) {
    warnings.push(
      `port rules ${allRulesApplied.join('; ')} apply to every cluster IP address, and without Get-NlbClusterVip output the import knows only ${vips.join(', ')} (the cluster IP and those named in specific rules); include the output of Get-NlbClusterVip to cover every cluster address`,
    );
  }
  if (problems.length === 0 && services.length === 0) {
    problems.push(problem(NlbImportCode.CLUSTER, `nothing to import: no port rule becomes a virtual service (${skipped.length > 0 ? skipped.join('; ') : 'no rules'})`));
  }
  if (problems.length > 0) return { ok: false, problems, warnings };
  const header = headerOf({ exported, cluster, clusterName, files: options.files, skipped, warnings, nodes });
  return { ok: true, plan: { header, services, warnings } };
}

function singleCluster(exported: NlbExport, problems: ImportProblem[]): NlbCluster | undefined {
  const distinct = new Map<string, NlbCluster>();
  for (const cluster of exported.clusters) {
    const key = `${cluster.name?.toLowerCase() ?? ''}|${cluster.ipAddress ?? ''}`;
    if (!distinct.has(key)) distinct.set(key, cluster);
  }
  const clusters = [...distinct.values()];
  if (clusters.length > 1) {
    const list = clusters.map((cluster) => `${cluster.name ?? '(no name)'} ${cluster.ipAddress ?? ''}`.trim()).join(', ');
    problems.push(problem(NlbImportCode.CLUSTER, `the input describes ${clusters.length} clusters (${list}); import one cluster at a time`));
  }
  return clusters[0];
}

function unique(values: readonly (string | undefined)[]): string[] {
  const seen: string[] = [];
  for (const value of values) if (value !== undefined && !seen.includes(value)) seen.push(value);
  return seen;
}

/** The ports of a rule that become virtual services; port 0 is no port a client connects to. */
function portsOf(rule: NlbPortRule, label: string, only: ReadonlySet<number> | undefined, problems: ImportProblem[], skipped: string[]): number[] {
  const first = Math.max(rule.startPort, 1);
  const count = rule.endPort - first + 1;
  if (only !== undefined) {
    const ports = [...only].filter((port) => port >= first && port <= rule.endPort).sort((a, b) => a - b);
    if (ports.length === 0) skipped.push(`${label}: none of its ports is in --ports`);
    return ports;
  }
  if (count > MAX_RANGE_PORTS) {
    problems.push(
      problem(
        NlbImportCode.PORT_RANGE,
        `port rule ${label} (${MODE_LABEL[rule.mode]}) covers ${count} ports; Fulcrum listens on one port per virtual service, and the import writes one per port for ranges of up to ${MAX_RANGE_PORTS}. Name the ports clients use with --ports (e.g. --ports 80,443 or --ports 8000-8010), or narrow the rule in NLB (Set-NlbClusterPortRule -NewStartPort N -NewEndPort M) and export again`,
      ),
    );
    return [];
  }
  if (rule.startPort === 0) skipped.push(`${label}: port 0 (no client connects to it)`);
  return Array.from({ length: Math.max(count, 0) }, (_, i) => first + i);
}

function transportsOf(rule: NlbPortRule): ('tcp' | 'udp')[] {
  return rule.protocol === 'both' ? ['tcp', 'udp'] : [rule.protocol];
}

/** A rule for this very address wins over an All rule for it, as in NLB. */
function specificRuleFor(exported: NlbExport, vip: string, port: number, transport: 'tcp' | 'udp'): NlbPortRule | undefined {
  return exported.portRules.find((rule) => rule.vip === vip && port >= rule.startPort && port <= rule.endPort && transportsOf(rule).includes(transport));
}

/** cluster-10.0.0.100-tcp-80: letters, digits, ".", "_", "-", at most 64 characters, unique. */
function serviceName(cluster: string | undefined, vip: string, transport: string, port: number, taken: Set<string>): string {
  const clean = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  const tail = `${clean(vip)}-${transport}-${port}`;
  const prefix = clean(cluster ?? '') || 'nlb';
  const base = `${prefix.slice(0, Math.max(1, 64 - tail.length - 1))}-${tail}`.slice(0, 64);
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base.slice(0, 64 - String(n).length - 1)}-${n}`;
  taken.add(name.toLowerCase());
  return name;
}

interface ServiceInput {
  rule: NlbPortRule;
  label: string;
  name: string;
  vip: string;
  port: number;
  transport: 'tcp' | 'udp';
  nodes: readonly NodeTarget[];
  scheduling: RuleScheduling;
}

function servicePlan({ rule, label, name, vip, port, transport, nodes, scheduling }: ServiceInput): ServicePlan {
  const realServers = nodes.map((target, i): RealServerDraft => {
    const share = scheduling.servers[i];
    const server: RealServerDraft = { address: formatAddress({ host: target.address, port }) };
    if (share?.weight !== undefined) server.weight = share.weight;
    if (share?.state !== undefined) server.state = share.state;
    return server;
  });
  const health = suggestHealthCheck(transport, port);
  // Keys in the order a person reads them; render.ts writes them in this order.
  const service: VirtualServiceDraft = {
    name,
    listen: formatAddress({ host: vip, port }),
    protocol: transport,
    scheduler: scheduling.scheduler,
    ...(scheduling.persistence === undefined ? {} : { persistence: scheduling.persistence }),
    ...(health.check === undefined ? {} : { healthCheck: health.check }),
    realServers,
  };

  const affinity = rule.mode === 'multiple' ? `, affinity ${rule.affinity === undefined ? 'None' : rule.affinity[0]?.toUpperCase() + rule.affinity.slice(1)}` : '';
  let note = `NLB port rule ${label} (${MODE_LABEL[rule.mode]}${affinity})`;
  if (rule.startPort !== rule.endPort) note += `, port ${port} of its range`;
  if (rule.protocol === 'both') note += `, its ${transport.toUpperCase()} side`;
  const notes = [`${note}.`];
  if (rule.protocol === 'both' && transport === 'udp') notes.push(`NLB rules say Both by default: remove this service if nothing uses UDP on port ${port}.`);
  if (transport === 'tcp' && port === FTP_PORT) notes.push(`FTP: as protocol tcp, data connections break; ${FTP_ADVICE}.`);
  const keyNotes: ServicePlan['keyNotes'] = { scheduler: scheduling.schedulerNotes, healthCheck: health.notes };
  if (scheduling.persistence !== undefined) keyNotes.persistence = scheduling.persistenceNotes;
  return { service, notes, keyNotes, serverNotes: scheduling.servers.map((share) => share.note) };
}

interface HeaderInput {
  exported: NlbExport;
  cluster: NlbCluster | undefined;
  clusterName: string | undefined;
  files: readonly string[];
  skipped: readonly string[];
  warnings: readonly string[];
  nodes: readonly NodeTarget[];
}

function headerOf({ exported, cluster, clusterName, files, skipped, warnings, nodes }: HeaderInput): string[] {
  const named = clusterName === undefined ? 'a Windows NLB cluster' : `Windows NLB cluster ${clusterName}${cluster?.ipAddress === undefined ? '' : ` (${cluster.ipAddress})`}`;
  const header = [
    `Fulcrum config imported from ${named} by \`fulcrum nlb import\`,`,
    `from ${files.join(', ')}.`,
    'One virtual service per NLB port rule, cluster IP address, port and protocol; the real servers are the nodes\' dedicated addresses.',
    'While NLB still holds these addresses, test on an address of Fulcrum\'s own (change listen), then move them',
    '(docs/migrating-from-windows-nlb.md). No admin: section is written; add one to manage Fulcrum over its API.',
  ];
  const unmapped = unmappedFields(exported, cluster, nodes);
  if (unmapped.length > 0) {
    header.push('', 'NLB settings with no Fulcrum equivalent, not carried over (heartbeats, convergence, host states and the', 'cluster MAC belong to NLB itself; health checks and drain replace them):');
    header.push(...unmapped.map((line) => `  ${line}`));
  }
  if (skipped.length > 0) header.push('', 'Not imported:', ...skipped.map((line) => `  ${line}`));
  if (warnings.length > 0) header.push('', 'Warnings:', ...warnings.map((line) => `  ${line}`));
  return header;
}

function fieldList(fields: readonly (readonly [string, string | number | undefined])[]): string {
  return fields
    .filter((field): field is readonly [string, string | number] => field[1] !== undefined)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
}

const MODE_LEGEND =
  'Mode is how NLB shares the cluster MAC address; once the addresses are Fulcrum\'s, remove what the switches hold for NLB (fulcrum nlb switch-config prints the lines).';
const TIMEOUT_LEGEND = 'Timeout is NLB\'s extended affinity in minutes, kept across convergence; persistence.timeout is the nearest Fulcrum setting.';

function unmappedFields(exported: NlbExport, cluster: NlbCluster | undefined, nodes: readonly NodeTarget[]): string[] {
  const lines: string[] = [];
  const push = (subject: string, text: string): void => {
    if (text !== '') lines.push(`${subject}: ${text}`);
  };
  const extras = (fields: readonly ExtraField[]): (readonly [string, string])[] => fields.map((field) => [field.name, field.value] as const);
  if (cluster !== undefined) push(`cluster ${cluster.name ?? cluster.ipAddress ?? ''}`, fieldList([['Mode', cluster.mode], ['SubnetMask', cluster.subnetMask], ...extras(cluster.extra)]));
  for (const vip of exported.vips) push(`cluster address ${vip.ipAddress}`, fieldList(extras(vip.extra)));
  for (const target of nodes) {
    const node = target.node;
    const dips = exported.dips
      .filter((dip) => sameNode(dip.node, target.name))
      .map((dip) => `${dip.ipAddress}${dip.subnetMask === undefined ? '' : `/${dip.subnetMask}`}${dip.ipAddress === target.address ? '' : ' (not used)'}${dip.extra.length > 0 ? ` ${fieldList(extras(dip.extra))}` : ''}`);
    const fields = node === undefined ? [] : [['HostPriority', node.hostPriority], ['State', node.state], ['InterfaceName', node.interfaceName], ...extras(node.extra)] as const;
    push(`node ${target.name}`, fieldList([...fields, ['dedicated addresses', dips.length === 0 ? undefined : dips.join(', ')]]));
  }
  for (const rule of exported.portRules) push(`port rule ${ruleLabel(rule)}`, fieldList([['Timeout', rule.timeout], ['State', rule.state], ...extras(rule.extra)]));
  if (cluster?.mode !== undefined) lines.push(MODE_LEGEND);
  if (exported.portRules.some((rule) => rule.timeout !== undefined)) lines.push(TIMEOUT_LEGEND);
  return lines;
}
