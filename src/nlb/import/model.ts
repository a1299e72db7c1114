/**
 * Types only: a Windows NLB cluster as `fulcrum nlb import` understands it, read from the output of
 * Get-NlbCluster, Get-NlbClusterVip, Get-NlbClusterNode, Get-NlbClusterNodeDip and
 * Get-NlbClusterPortRule (classify.ts fills it), apart from the mapping onto a Fulcrum config
 * (mapping.ts). Names follow the cmdlets' properties; every property the import does not use is
 * kept in `extra`, so that the generated file can list it instead of dropping it silently.
 */

/** Where a record came from, for messages: "rules.txt:12". */
export interface SourceRef {
  file: string;
  line: number;
}

/** A property the import read but does not map, as the cmdlet printed it. */
export interface ExtraField {
  name: string;
  value: string;
}

/** How the cluster shares its MAC address on the wire (Set-NlbCluster -OperationMode). */
export type ClusterMode = 'unicast' | 'multicast' | 'igmpmulticast';

export interface NlbCluster {
  name: string | undefined;
  /** The cluster (primary) IP address; undefined when the table form cut it short and nothing else names it. */
  ipAddress: string | undefined;
  subnetMask: string | undefined;
  mode: string | undefined;
  extra: ExtraField[];
  source: SourceRef;
}

/** An additional cluster IP address (Get-NlbClusterVip). */
export interface NlbVip {
  ipAddress: string;
  extra: ExtraField[];
  source: SourceRef;
}

export interface NlbNode {
  name: string;
  /** The host priority (HostID in the table): 1 is the default host. */
  hostPriority: number | undefined;
  /** Converged, Stopped, Suspended, Draining...; "(default)" removed. */
  state: string | undefined;
  interfaceName: string | undefined;
  extra: ExtraField[];
  source: SourceRef;
}

/** A dedicated IP address of a node: where Fulcrum reaches it as a real server. */
export interface NlbNodeDip {
  node: string;
  ipAddress: string;
  subnetMask: string | undefined;
  extra: ExtraField[];
  source: SourceRef;
}

export type PortRuleProtocol = 'tcp' | 'udp' | 'both';
/** Multiple hosts (load balanced), Single host (handling priority: failover), Disabled (dropped). */
export type FilteringMode = 'multiple' | 'single' | 'disabled';
/** None: any host; Single: one host per client address; Network: one host per client /24 (class C). */
export type Affinity = 'none' | 'single' | 'network';

/** The per-node settings of a port rule (Get-NlbClusterNode | Get-NlbClusterPortRule). */
export interface NodeRuleSettings {
  equalLoad: boolean | undefined;
  /** 0..100, multiple-host mode. */
  loadWeight: number | undefined;
  /** Handling priority, single-host mode: the lowest number handles the traffic. */
  priority: number | undefined;
  /** Enabled, Disabled or Draining on that node. */
  portState: string | undefined;
  source: SourceRef;
}

export interface NlbPortRule {
  /** 'all' (shown as All, or 255.255.255.255): every cluster IP address; else one of them. */
  vip: 'all' | string;
  protocol: PortRuleProtocol;
  startPort: number;
  endPort: number;
  mode: FilteringMode;
  affinity: Affinity | undefined;
  /** Minutes of extended affinity (0..240). */
  timeout: number | undefined;
  /** The rule's state as the table shows it (on the node that ran the cmdlet). */
  state: string | undefined;
  /** Keyed by node name in lower case. */
  nodes: Map<string, NodeRuleSettings & { node: string }>;
  extra: ExtraField[];
  source: SourceRef;
}

/** Everything the input files said about one cluster. */
export interface NlbExport {
  clusters: NlbCluster[];
  vips: NlbVip[];
  nodes: NlbNode[];
  dips: NlbNodeDip[];
  portRules: NlbPortRule[];
  /** Cluster names the node and port rule records carry (their Cluster property). */
  clusterNames: string[];
}
