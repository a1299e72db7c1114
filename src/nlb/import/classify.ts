/**
 * Which cmdlet printed each object, told by its columns or properties (the forms do not say), and
 * the model (model.ts) built from them: one cluster, its extra addresses, its nodes and their
 * dedicated addresses, and its port rules with the per-node weights and priorities merged in
 * (Get-NlbClusterNode | Get-NlbClusterPortRule prints one object per rule and node).
 *
 *   Get-NlbCluster          Name, IPAddress, SubnetMask, Mode
 *   Get-NlbClusterVip       IPAddress, SubnetMask
 *   Get-NlbClusterNode      Name, State, Interface, HostID (list: InterfaceName, HostPriority, ...)
 *   Get-NlbClusterNodeDip   Node, IPAddress, SubnetMask
 *   Get-NlbClusterPortRule  IPAddress, State, Start, End, Protocol, Mode, Affinity, Timeout
 *                           (list: VirtualIPAddress, StartPort, EndPort, FilteringMode, EqualLoad,
 *                           LoadWeight, PortState, Priority, NodeName, ...)
 */
import { isIP } from 'node:net';
import type { Affinity, ExtraField, FilteringMode, NlbCluster, NlbExport, NlbNode, NlbNodeDip, NlbPortRule, NlbVip, NodeRuleSettings, PortRuleProtocol, SourceRef } from './model.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';
import type { RawField, RawRecord } from './raw-record.ts';
import { booleanOf, integerOf, textOf, truncatedPrefix } from './values.ts';

export interface Classified {
  export: NlbExport;
  problems: ImportProblem[];
  warnings: string[];
  /** Objects that match none of the cmdlets. */
  unrecognized: RawRecord[];
}

type Fields = Map<string, RawField>;

const IP_KEYS = ['ipaddress', 'clusterprimaryip', 'clusteripaddress'];
const NAME_KEYS = ['name', 'clustername'];

const USED = {
  cluster: ['name', 'clustername', 'ipaddress', 'clusterprimaryip', 'clusteripaddress', 'subnetmask', 'clustersubnetmask', 'mode', 'operationmode', 'clustermode'],
  vip: ['ipaddress', 'subnetmask', 'cluster'],
  node: ['name', 'nodename', 'state', 'hostpriority', 'hostid', 'interface', 'interfacename', 'cluster'],
  dip: ['node', 'nodename', 'ipaddress', 'subnetmask', 'cluster'],
  rule: [
    ...['virtualipaddress', 'ipaddress', 'ip', 'protocol', 'startport', 'start', 'endport', 'end', 'filteringmode', 'mode', 'affinity'],
    ...['timeout', 'portstate', 'state', 'nodename', 'node', 'equalload', 'loadweight', 'priority', 'handlingpriority', 'cluster'],
  ],
} as const;

type Kind = keyof typeof USED;

/** The cmdlet an object came from, by the properties it has. */
function kindOf(fields: Fields): Kind | undefined {
  const has = (...names: string[]): boolean => names.some((name) => fields.has(name));
  if (has('startport', 'start') && has('endport', 'end')) return 'rule';
  if (has('hostpriority', 'hostid') || (has('name', 'nodename') && has('state') && has('interface', 'interfacename'))) return 'node';
  if (has('node', 'nodename') && has('ipaddress')) return 'dip';
  if (has(...IP_KEYS) && (has(...NAME_KEYS) || has('mode', 'operationmode', 'clustermode'))) return 'cluster';
  if (has('ipaddress') && [...fields.keys()].every((key) => (USED.vip as readonly string[]).includes(key) || key === 'interfacename' || key === 'hostname')) return 'vip';
  return undefined;
}

/** A port rule object before the per-node objects of one rule are merged. */
interface RuleRecord extends Pick<NlbPortRule, 'protocol' | 'startPort' | 'endPort' | 'mode' | 'affinity' | 'timeout' | 'state'> {
  vipText: string;
  node: string | undefined;
  settings: NodeRuleSettings;
  extra: ExtraField[];
  source: SourceRef;
}

class Reader {
  readonly problems: ImportProblem[] = [];
  readonly warnings: string[] = [];

  readonly #fields: Fields;
  readonly #source: SourceRef;

  /** Files whose numeric enumerations were already reported: one message per file says it all. */
  readonly #numericReported: Set<string>;

  constructor(fields: Fields, source: SourceRef, numericReported: Set<string>) {
    this.#fields = fields;
    this.#source = source;
    this.#numericReported = numericReported;
  }

  text(...names: string[]): string | undefined {
    for (const name of names) {
      const text = textOf(this.#fields.get(name)?.value);
      if (text !== undefined) return text;
    }
    return undefined;
  }

  integer(label: string, ...names: string[]): number | undefined {
    for (const name of names) {
      const field = this.#fields.get(name);
      if (field === undefined) continue;
      const value = integerOf(field.value);
      if (value === null) this.fail(NlbImportCode.VALUE, `${field.name} is ${JSON.stringify(textOf(field.value))}, not a ${label}`);
      if (value !== undefined && value !== null) return value;
    }
    return undefined;
  }

  boolean(...names: string[]): boolean | undefined {
    for (const name of names) {
      const value = booleanOf(this.#fields.get(name)?.value);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /**
   * An enumeration the mapping depends on. Windows PowerShell 5.1's ConvertTo-Json writes these as
   * numbers, and Microsoft documents the names, not the numbers: guessing could turn a load-balanced
   * rule into a failover one, so a number is refused with the two exports that write names.
   */
  choice<T extends string>(names: readonly string[], parse: (lower: string) => T | undefined, allowed: string): T | undefined | null {
    const name = names.find((candidate) => this.#fields.has(candidate));
    const field = name === undefined ? undefined : this.#fields.get(name);
    if (field === undefined) return undefined;
    if (typeof field.value === 'number') {
      if (this.#numericReported.has(this.#source.file)) return null;
      this.#numericReported.add(this.#source.file);
      this.fail(
        NlbImportCode.VALUE,
        `${field.name} is the number ${field.value}: Windows PowerShell 5.1's ConvertTo-Json writes enumerations as numbers, whose meaning Microsoft does not document; export with PowerShell 7's ConvertTo-Json -EnumsAsStrings, or with Format-List -Property * (both are read)`,
      );
      return null;
    }
    const text = textOf(field.value);
    if (text === undefined) return undefined;
    const value = parse(text.toLowerCase());
    if (value !== undefined) return value;
    this.fail(NlbImportCode.VALUE, `${field.name} is ${JSON.stringify(text)}; expected ${allowed}`);
    return null;
  }

  extra(kind: Kind): ExtraField[] {
    const used = USED[kind] as readonly string[];
    const extra: ExtraField[] = [];
    for (const [key, field] of this.#fields) {
      const value = textOf(field.value);
      if (!used.includes(key) && value !== undefined) extra.push({ name: field.name, value });
    }
    return extra;
  }

  fail(code: ImportProblem['code'], message: string): void {
    this.problems.push(problem(code, `${where(this.#source)}: ${message}`));
  }
}

export function where(source: SourceRef): string {
  return `${source.file}:${source.line}`;
}

export function classifyRecords(records: readonly RawRecord[]): Classified {
  const result: Classified = {
    export: { clusters: [], vips: [], nodes: [], dips: [], portRules: [], clusterNames: [] },
    problems: [],
    warnings: [],
    unrecognized: [],
  };
  const rules: RuleRecord[] = [];
  const numericReported = new Set<string>();
  for (const record of records) {
    const fields: Fields = new Map(record.fields.map((field) => [field.name.toLowerCase(), field]));
    const kind = kindOf(fields);
    if (kind === undefined) {
      result.unrecognized.push(record);
      continue;
    }
    const reader = new Reader(fields, record.source, numericReported);
    const clusterName = reader.text('cluster');
    if (clusterName !== undefined && kind !== 'cluster' && !result.export.clusterNames.includes(clusterName)) result.export.clusterNames.push(clusterName);
    if (kind === 'cluster') result.export.clusters.push(readCluster(reader, record.source));
    else if (kind === 'vip') pushDefined(result.export.vips, readVip(reader, record.source));
    else if (kind === 'node') pushDefined(result.export.nodes, readNode(reader, record.source));
    else if (kind === 'dip') pushDefined(result.export.dips, readDip(reader, record.source));
    else pushDefined(rules, readRule(reader, record.source));
    result.problems.push(...reader.problems);
    result.warnings.push(...reader.warnings);
  }
  mergeRules(rules, result);
  return result;
}

function pushDefined<T>(list: T[], value: T | undefined): void {
  if (value !== undefined) list.push(value);
}

function readCluster(reader: Reader, source: SourceRef): NlbCluster {
  return {
    name: reader.text(...NAME_KEYS),
    ipAddress: reader.text(...IP_KEYS),
    subnetMask: reader.text('subnetmask', 'clustersubnetmask'),
    mode: reader.text('mode', 'operationmode', 'clustermode'),
    extra: reader.extra('cluster'),
    source,
  };
}

function readVip(reader: Reader, source: SourceRef): NlbVip | undefined {
  const ipAddress = reader.text('ipaddress');
  return ipAddress === undefined ? undefined : { ipAddress, extra: reader.extra('vip'), source };
}

function readNode(reader: Reader, source: SourceRef): NlbNode | undefined {
  const name = reader.text('name', 'nodename');
  if (name === undefined) return undefined;
  return {
    name,
    hostPriority: reader.integer('host priority', 'hostpriority', 'hostid'),
    state: reader.text('state')?.replace(/\s*\(default\)$/i, ''),
    interfaceName: reader.text('interfacename', 'interface'),
    extra: reader.extra('node'),
    source,
  };
}

function readDip(reader: Reader, source: SourceRef): NlbNodeDip | undefined {
  const node = reader.text('node', 'nodename');
  const ipAddress = reader.text('ipaddress');
  if (node === undefined || ipAddress === undefined) return undefined;
  if (truncatedPrefix(ipAddress) !== undefined || isIP(ipAddress) === 0) {
    reader.warnings.push(`${where(source)}: dedicated address ${JSON.stringify(ipAddress)} of node ${node} is cut short or not an IP address; not used (the list form, Get-NlbClusterNodeDip | Format-List -Property *, prints it whole)`);
    return undefined;
  }
  return { node, ipAddress, subnetMask: reader.text('subnetmask'), extra: reader.extra('dip'), source };
}

const parseProtocol = (text: string): PortRuleProtocol | undefined => (text === 'tcp' || text === 'udp' || text === 'both' ? text : undefined);
const parseMode = (text: string): FilteringMode | undefined =>
  text.startsWith('multiple') ? 'multiple' : text.startsWith('single') ? 'single' : text.startsWith('disabled') ? 'disabled' : undefined;
const parseAffinity = (text: string): Affinity | undefined =>
  text === 'none' || text === 'single' || text === 'network' ? text : text === 'classc' ? 'network' : undefined;

function readRule(reader: Reader, source: SourceRef): RuleRecord | undefined {
  const before = reader.problems.length;
  const vipText = reader.text('virtualipaddress', 'ipaddress', 'ip') ?? 'All';
  const protocol = reader.choice(['protocol'], parseProtocol, 'Tcp, Udp or Both');
  const mode = reader.choice(['filteringmode', 'mode'], parseMode, 'Multiple, Single or Disabled');
  const affinity = reader.choice(['affinity'], parseAffinity, 'None, Single or Network');
  const startPort = reader.integer('port', 'startport', 'start');
  const endPort = reader.integer('port', 'endport', 'end');
  if (protocol === null || mode === null || affinity === null) return undefined;
  if (protocol === undefined && reader.problems.length === before) reader.fail(NlbImportCode.VALUE, 'the port rule has no Protocol');
  if (mode === undefined && reader.problems.length === before) reader.fail(NlbImportCode.VALUE, 'the port rule has no filtering mode (Mode or FilteringMode)');
  if ((startPort === undefined || endPort === undefined) && reader.problems.length === before) reader.fail(NlbImportCode.VALUE, 'the port rule has no start or end port');
  if (startPort !== undefined && endPort !== undefined && (endPort > 65_535 || startPort > endPort)) reader.fail(NlbImportCode.VALUE, `port range ${startPort}-${endPort} is not within 0-65535`);
  if (reader.problems.length > before || protocol === undefined || mode === undefined || startPort === undefined || endPort === undefined) return undefined;
  return {
    vipText,
    protocol,
    startPort,
    endPort,
    mode,
    affinity,
    timeout: reader.integer('number of minutes', 'timeout'),
    state: reader.text('state'),
    node: reader.text('nodename', 'node'),
    settings: {
      equalLoad: reader.boolean('equalload'),
      loadWeight: reader.integer('load weight', 'loadweight'),
      priority: reader.integer('handling priority', 'priority', 'handlingpriority'),
      portState: reader.text('portstate'),
      source,
    },
    extra: reader.extra('rule'),
    source,
  };
}

/**
 * "All", "255.255.255.255" (every cluster address) or an address. The port rule table is 9
 * characters wide, so it cuts most addresses ("10.0.0..."); a cut one is completed only when the
 * input lists every cluster address (Get-NlbClusterVip) and exactly one of them fits.
 */
function resolveVip(text: string, known: readonly string[], complete: boolean): { vip?: string; message?: string; warning?: string } {
  if (text.toLowerCase() === 'all' || text === '255.255.255.255') return { vip: 'all' };
  const prefix = truncatedPrefix(text);
  if (prefix === undefined) return isIP(text) === 0 ? { message: `${JSON.stringify(text)} is not an IP address` } : { vip: text };
  const matches = known.filter((address) => address.startsWith(prefix));
  if (matches.length === 1 && complete) {
    const vip = matches[0] ?? '';
    return { vip, warning: `the table cut the IP address to ${JSON.stringify(text)}; taken as ${vip}, the only cluster address (Get-NlbClusterVip) that starts so` };
  }
  const why =
    matches.length > 1 ? `it could be any of ${matches.join(', ')}` : !complete ? 'without the output of Get-NlbClusterVip the cluster\'s addresses are not all known' : 'no cluster address starts so';
  return { message: `the table cut the IP address to ${JSON.stringify(text)}, and ${why}; export Get-NlbClusterPortRule | Format-List -Property * (or ConvertTo-Json), which prints addresses whole` };
}

/** One NlbPortRule per rule, whatever the number of per-node objects that describe it. */
function mergeRules(records: readonly RuleRecord[], result: Classified): void {
  const exported = result.export;
  const known = [
    ...exported.clusters.map((cluster) => cluster.ipAddress),
    ...exported.vips.map((vip) => vip.ipAddress),
    ...records.map((record) => record.vipText),
  ].filter((address): address is string => address !== undefined && truncatedPrefix(address) === undefined && isIP(address) !== 0);
  const complete = exported.vips.length > 0;
  for (const cluster of exported.clusters) {
    const address = cluster.ipAddress;
    if (address === undefined || truncatedPrefix(address) === undefined) continue;
    const resolved = resolveVip(address, known, complete);
    cluster.ipAddress = resolved.vip === undefined || resolved.vip === 'all' ? undefined : resolved.vip;
    if (cluster.ipAddress === undefined) result.warnings.push(`${where(cluster.source)}: the table cut the cluster's IP address to ${JSON.stringify(address)}; Get-NlbCluster | Format-List -Property * prints it whole`);
  }
  const byKey = new Map<string, NlbPortRule>();
  for (const record of records) {
    const resolved = resolveVip(record.vipText, known, complete);
    if (resolved.vip === undefined) {
      result.problems.push(problem(NlbImportCode.VALUE, `${where(record.source)}: ${resolved.message ?? 'no IP address'}`));
      continue;
    }
    if (resolved.warning !== undefined) result.warnings.push(`${where(record.source)}: ${resolved.warning}`);
    const key = `${resolved.vip}|${record.protocol}|${record.startPort}|${record.endPort}`;
    let rule = byKey.get(key);
    if (rule === undefined) {
      rule = { ...record, vip: resolved.vip, nodes: new Map() };
      byKey.set(key, rule);
      exported.portRules.push(rule);
    } else {
      mergeInto(rule, record, result);
    }
    if (record.node !== undefined) rule.nodes.set(record.node.toLowerCase(), { ...record.settings, node: record.node });
  }
}

/** A later object of the same rule fills what the first lacked; a contradiction is reported, the first kept. */
function mergeInto(rule: NlbPortRule, record: RuleRecord, result: Classified): void {
  for (const key of ['mode', 'affinity', 'timeout', 'state'] as const) {
    const mine = rule[key];
    const theirs = record[key];
    if (mine === undefined) (rule as Record<typeof key, unknown>)[key] = theirs;
    else if (theirs !== undefined && theirs !== mine && key !== 'state') {
      result.warnings.push(`${where(record.source)}: this port rule's ${key} is ${theirs} here and ${mine} at ${where(rule.source)}; ${mine} is used`);
    }
  }
  for (const field of record.extra) if (!rule.extra.some((known) => known.name === field.name && known.value === field.value)) rule.extra.push(field);
}
