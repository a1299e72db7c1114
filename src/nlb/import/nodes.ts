/**
 * The real servers of every imported virtual service: each NLB node at its dedicated address.
 * A node is known from Get-NlbClusterNode, Get-NlbClusterNodeDip or the per-node port rules;
 * its address comes from --address NODE=IP first, else from its dedicated IPs. A node without an
 * address stops the import: a config that silently left a node out would send it no traffic.
 *
 * Windows compares computer names without case, and outputs mix "WEB1" and "web1.contoso.com";
 * a short name matches the first label of a full one.
 */
import { isIP } from 'node:net';
import type { NlbExport, NlbNode } from './model.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';

export interface NodeTarget {
  /** The name as the input (or --address) spells it. */
  name: string;
  address: string;
  /** Get-NlbClusterNode's object, when the input has one. */
  node: NlbNode | undefined;
}

export function sameNode(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  if (x.includes('.') === y.includes('.')) return false;
  return x.split('.')[0] === y.split('.')[0];
}

export function resolveNodes(exported: NlbExport, addresses: ReadonlyMap<string, string>): { nodes: NodeTarget[]; problems: ImportProblem[]; warnings: string[] } {
  const problems: ImportProblem[] = [];
  const warnings: string[] = [];
  const names: string[] = [];
  const add = (name: string): void => {
    if (!names.some((known) => sameNode(known, name))) names.push(name);
  };
  for (const node of exported.nodes) add(node.name);
  for (const dip of exported.dips) add(dip.node);
  for (const rule of exported.portRules) for (const settings of rule.nodes.values()) add(settings.node);
  const knownFromInput = names.length > 0;
  for (const name of addresses.keys()) {
    if (!knownFromInput) add(name);
    else if (!names.some((known) => sameNode(known, name))) {
      problems.push(problem(NlbImportCode.NODE_ADDRESS, `--address ${name}=${addresses.get(name) ?? ''}: the input has no node ${name} (its nodes: ${names.join(', ')})`));
    }
  }
  if (names.length === 0) {
    problems.push(problem(NlbImportCode.NODE_ADDRESS, 'the input names no NLB node: add the output of Get-NlbClusterNode and Get-NlbClusterNodeDip, or give each node with --address NODE=IP'));
  }

  const nodes: NodeTarget[] = [];
  for (const name of names) {
    const given = [...addresses].find(([key]) => sameNode(key, name))?.[1];
    const address = given ?? dedicatedAddress(exported, name, warnings);
    if (address === undefined) {
      problems.push(problem(NlbImportCode.NODE_ADDRESS, `no address for NLB node ${name}: add the output of Get-NlbClusterNodeDip, or give it with --address ${name}=IP`));
      continue;
    }
    nodes.push({ name, address, node: exported.nodes.find((node) => sameNode(node.name, name)) });
  }
  for (const [i, target] of nodes.entries()) {
    const other = nodes.slice(0, i).find((earlier) => earlier.address === target.address);
    if (other !== undefined) {
      problems.push(problem(NlbImportCode.NODE_ADDRESS, `nodes ${other.name} and ${target.name} both have the address ${target.address}; give each its own with --address NODE=IP`));
    }
  }
  return { nodes, problems, warnings };
}

/**
 * The dedicated IP to reach a node at: an IPv4 address (not 169.254/16, which Windows gives
 * itself without DHCP), else an IPv6 one that is not link-local (fe80::/10 needs a zone).
 */
function dedicatedAddress(exported: NlbExport, name: string, warnings: string[]): string | undefined {
  const dips = exported.dips.filter((dip) => sameNode(dip.node, name)).map((dip) => dip.ipAddress);
  const usable = [
    ...dips.filter((ip) => isIP(ip) === 4 && !ip.startsWith('169.254.')),
    ...dips.filter((ip) => isIP(ip) === 6 && !/^fe[89ab]/i.test(ip)),
  ];
  const [first] = usable;
  if (usable.length > 1) warnings.push(`node ${name} has several dedicated addresses (${usable.join(', ')}); ${first} is used: give another with --address ${name}=IP`);
  return first;
}
