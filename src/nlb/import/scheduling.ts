/**
 * How one NLB port rule shares its traffic, as Fulcrum's scheduler, weights and persistence:
 *
 * - Multiple hosts, equal load: round-robin. With load weights (0..100 per node; an equal-load
 *   node counts 50, NLB's default): weighted-round-robin with those weights, so each node keeps
 *   its share (weight over the sum).
 * - Single host: NLB sends everything to the node with the LOWEST handling priority (1 first).
 *   fixed-weight sends everything to the HIGHEST weight, so weight = 33 - priority (priorities
 *   run 1..32) keeps the order, and the next node still takes over when the first fails.
 * - Affinity None: no persistence; Single: source-ip; Network: source-ip with sourceMask 24
 *   (NLB's "class C" affinity keeps a client's whole /24 on one node).
 */
import type { NlbPortRule, NodeRuleSettings } from './model.ts';
import { sameNode, type NodeTarget } from './nodes.ts';
import type { PersistenceDraft, VirtualServiceDraft } from './plan.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';

/** NLB gives an equal-load node this weight (the unattend EqualLoad setting documents it). */
export const NLB_EQUAL_WEIGHT = 50;
/** Handling priorities run 1..32 (one per possible node). */
const MAX_PRIORITY = 32;

export interface ServerShare {
  weight?: number;
  state?: 'disabled' | 'drain';
  /** The trailing comment: the node's name and what set its weight. */
  note: string;
}

export interface RuleScheduling {
  scheduler: VirtualServiceDraft['scheduler'];
  persistence: PersistenceDraft | undefined;
  /** One per node, in the nodes' order. */
  servers: ServerShare[];
  schedulerNotes: string[];
  persistenceNotes: string[];
  /** The per-node weights or priorities were not in the input; a fallback was used. */
  fellBack: boolean;
  warnings: string[];
  problems: ImportProblem[];
}

export function scheduleRule(rule: NlbPortRule, nodes: readonly NodeTarget[], label: string): RuleScheduling {
  const settingsOf = (target: NodeTarget): NodeRuleSettings | undefined => [...rule.nodes.values()].find((settings) => sameNode(settings.node, target.name));
  const result = rule.mode === 'single' ? singleHost(rule, nodes, label, settingsOf) : multipleHosts(rule, nodes, settingsOf);
  nodes.forEach((target, i) => {
    const portState = settingsOf(target)?.portState?.toLowerCase();
    const server = result.servers[i];
    if (server === undefined) return;
    if (portState === 'disabled') {
      server.state = 'disabled';
      server.note += ', the rule is disabled on this node in NLB';
    } else if (portState === 'draining') {
      server.state = 'drain';
      server.note += ', draining in NLB';
    }
  });
  return result;
}

function multipleHosts(rule: NlbPortRule, nodes: readonly NodeTarget[], settingsOf: (target: NodeTarget) => NodeRuleSettings | undefined): RuleScheduling {
  const warnings: string[] = [];
  let fellBack = false;
  const weights = nodes.map((target) => {
    const settings = settingsOf(target);
    if (settings === undefined) {
      fellBack = true;
      return NLB_EQUAL_WEIGHT;
    }
    if (settings.equalLoad === true) {
      if (settings.loadWeight !== undefined && settings.loadWeight !== NLB_EQUAL_WEIGHT) {
        warnings.push(`node ${target.name} has EqualLoad True with LoadWeight ${settings.loadWeight} on port rule at ${settings.source.file}:${settings.source.line}; NLB ignores the weight of an equal-load node, and so does this import`);
      }
      return NLB_EQUAL_WEIGHT;
    }
    return settings.loadWeight ?? NLB_EQUAL_WEIGHT;
  });
  const equal = weights.every((weight) => weight === weights[0]);
  const names = nodes.map((target, i) => `${target.name} ${weights[i] ?? NLB_EQUAL_WEIGHT}`);
  const schedulerNotes = equal
    ? ['NLB multiple-host filtering with equal load: each real server in turn.']
    : [`NLB multiple-host filtering with load weights (${names.join(', ')}): each real server's share is its weight over the sum.`];
  const { persistence, notes } = persistenceOf(rule);
  if (persistence === undefined) schedulerNotes.push(...notes);
  return {
    scheduler: equal ? 'round-robin' : 'weighted-round-robin',
    persistence,
    servers: nodes.map((target, i) => (equal ? { note: target.name } : { weight: weights[i] ?? NLB_EQUAL_WEIGHT, note: `${target.name}, NLB load weight ${weights[i] ?? NLB_EQUAL_WEIGHT}` })),
    schedulerNotes,
    persistenceNotes: persistence === undefined ? [] : notes,
    fellBack,
    warnings,
    problems: [],
  };
}

function persistenceOf(rule: NlbPortRule): { persistence: PersistenceDraft | undefined; notes: string[] } {
  if (rule.affinity === 'single') {
    return {
      persistence: { type: 'source-ip' },
      notes: ['NLB affinity Single: every connection from one client address reaches the same node.', 'source-ip keeps it on one real server until 30m after its last connection (persistence.timeout).'],
    };
  }
  if (rule.affinity === 'network') {
    return {
      persistence: { type: 'source-ip', sourceMask: 24 },
      notes: ['NLB affinity Network: every client of one /24 (class C) network reaches the same node; sourceMask 24 keys on that network.', 'It stays on one real server until 30m after its last connection (persistence.timeout).'],
    };
  }
  return { persistence: undefined, notes: ['NLB affinity None: no persistence, any connection may reach any real server.'] };
}

function singleHost(rule: NlbPortRule, nodes: readonly NodeTarget[], label: string, settingsOf: (target: NodeTarget) => NodeRuleSettings | undefined): RuleScheduling {
  const problems: ImportProblem[] = [];
  const warnings: string[] = [];
  let fellBack = false;
  const priorities = nodes.map((target) => {
    const own = settingsOf(target)?.priority;
    if (own !== undefined) return own;
    fellBack = true;
    const host = target.node?.hostPriority;
    if (host === undefined) {
      problems.push(
        problem(
          NlbImportCode.VALUE,
          `port rule ${label} uses single-host filtering, and the handling priority of node ${target.name} is unknown: add the output of Get-NlbClusterNode | Get-NlbClusterPortRule | Format-List -Property * (one object per node), or at least of Get-NlbClusterNode (its host priority)`,
        ),
      );
    }
    return host ?? MAX_PRIORITY;
  });
  const top = Math.max(MAX_PRIORITY, ...priorities);
  const weights = priorities.map((priority) => top + 1 - priority);
  const seen = new Map<number, string>();
  nodes.forEach((target, i) => {
    const priority = priorities[i] ?? top;
    const other = seen.get(priority);
    if (other !== undefined) warnings.push(`port rule ${label}: nodes ${other} and ${target.name} have the same handling priority ${priority}, which NLB refuses; their weights tie`);
    seen.set(priority, target.name);
  });
  const order = nodes
    .map((target, i) => ({ name: target.name, priority: priorities[i] ?? top, weight: weights[i] ?? 1 }))
    .sort((a, b) => a.priority - b.priority)
    .map(({ name, priority, weight }) => `${name} priority ${priority} -> weight ${weight}`);
  const schedulerNotes = [
    'NLB single-host filtering: all traffic goes to the node with the LOWEST handling priority (priority 1 is the first choice);',
    `the next takes over when it fails. fixed-weight sends all traffic to the HIGHEST weight, so weight = ${top + 1} - priority keeps that order:`,
    `${order.join(', ')}.`,
  ];
  if (rule.affinity !== undefined && rule.affinity !== 'none') schedulerNotes.push(`Affinity ${rule.affinity} does not apply: one node takes every client.`);
  return {
    scheduler: 'fixed-weight',
    persistence: undefined,
    servers: nodes.map((target, i) => ({ weight: weights[i] ?? 1, note: `${target.name}, NLB handling priority ${priorities[i] ?? top}` })),
    schedulerNotes,
    persistenceNotes: [],
    fellBack,
    warnings,
    problems,
  };
}
