/**
 * The switch lines that Windows NLB's modes need, for the switches its users run (Cisco Catalyst,
 * Dell PowerConnect 5424/5448, HP ProCurve / ArubaOS-Switch), and the lines that take them out
 * after the migration: what administrators write by hand today, from a cluster IP, a mode, a
 * VLAN and the switch ports that lead to the nodes. Pure: text in, text out.
 *
 * Each snippet is a list of blocks, a comment saying why (in the vendor's comment syntax: `!` for
 * Cisco IOS and the PowerConnect CLI, `;` for ProCurve configs) and then the commands. Lines that
 * change how a whole VLAN or switch treats multicast (multicast filtering, IGMP snooping, the
 * querier) are added but only named in a comment on removal: something other than NLB may rely
 * on them by then. What belongs on the router rather than the switch (the static ARP entry, when
 * the switch routes nothing) is a comment with the Cisco IOS line, not a command for this switch.
 *
 * Where each vendor's syntax comes from:
 * - Cisco IOS / IOS-XE: Cisco's "Catalyst Switches for Microsoft Network Load Balancing
 *   Configuration Example" (arp IP MAC ARPA; a static MAC entry on the node ports), the Catalyst
 *   software configuration guides ("Adding and Removing Static Address Entries": `mac
 *   address-table static MAC vlan N interface IF`, removed with `no mac address-table static MAC
 *   vlan N`; "IGMP Snooping and MVR Configuration Guide": `ip igmp snooping vlan N`, `ip igmp
 *   snooping querier`, `ip igmp snooping vlan N static GROUP interface IF`), and a Catalyst 3750
 *   running IOS 15 showing `arp 10.0.0.2 03bf.0a00.0002 arpa` and `mac address-table static
 *   03bf.0a00.0002 vlan 10 interface GigabitEthernet1/0/9 GigabitEthernet1/0/10` accepted.
 *   VMware KB 1006525 and many NLB guides print the older `mac-address-table static` spelling.
 *   That a static unicast entry takes a single interface on Catalyst switches is the reason the
 *   unicast mode gets a static entry only when one port leads to every node.
 * - Dell PowerConnect 5424/5448: the PowerConnect 54xx CLI Reference Guide (the Marvell/Radlan CLI
 *   that Cisco's Small Business 300 and CBS 250/350 guides document with the same commands):
 *   `bridge multicast filtering` (global; off by default, and then every multicast is flooded),
 *   `interface vlan N` then `bridge multicast address MAC add ethernet g1,g2` to register a
 *   static group and `no bridge multicast address MAC` to remove it, `bridge address MAC ethernet
 *   gN permanent` for a static unicast entry, `ip igmp snooping` globally and per VLAN. The 54xx
 *   is a layer-2 switch: the static ARP entry goes on the router.
 * - HP ProCurve / ArubaOS-Switch: the ArubaOS-Switch Management and Configuration Guide, "Static
 *   multicast filters" (`filter multicast MAC drop PORTS`, MAC written 010000-123456, removed with
 *   `no filter multicast MAC`; the filter names the ports that drop, every other port forwards),
 *   and the Multicast and Routing Guide, "Multimedia Traffic Control with IP Multicast (IGMP)"
 *   (`vlan N` then `ip igmp` and `ip igmp querier`; the querier needs an IP address on the VLAN;
 *   `ip igmp static-group` floods the group to every port of the VLAN, so it is not used).
 * - The NLB side: Microsoft's "Network Load Balancing Technical Overview" (the cluster MACs, unicast
 *   mode's flooding) and "Adjusting multicast parameters" (a router may refuse the multicast MAC
 *   in NLB's ARP replies, and then needs a static ARP entry); RFC 1812 section 3.3.2 (a router
 *   must not believe an ARP reply that gives a multicast link-layer address).
 */
import type { ParseResult } from '../config/problem.ts';
import { clusterMac, formatIpv4, igmpGroup, macForms, type Ipv4Bytes, type MacBytes, type NlbMode } from './cluster-mac.ts';

export const SWITCH_VENDORS = ['cisco', 'dell', 'hp'] as const;
export type SwitchVendor = (typeof SWITCH_VENDORS)[number];

export interface SwitchConfigRequest {
  ip: Ipv4Bytes;
  mode: NlbMode;
  vendor: SwitchVendor;
  /** 1-4094. */
  vlan: number;
  /** The switch ports that lead to the nodes, in the vendor's own naming (Gi1/0/1, g1, A1). */
  ports: readonly string[];
}

/** Comments saying why, then the commands; an empty comment is a blank comment line. */
export interface ConfigBlock {
  comments: readonly string[];
  commands: readonly string[];
}

export interface SwitchSnippet {
  vendor: SwitchVendor;
  mode: NlbMode;
  /** `!` or `;`: what starts a comment line in this vendor's configuration. */
  commentMark: string;
  /** The cluster MAC as this vendor's commands spell it. */
  switchMac: string;
  header: readonly string[];
  add: readonly ConfigBlock[];
  remove: readonly ConfigBlock[];
}

const VENDOR_NAMES: Record<SwitchVendor, string> = {
  cisco: 'Cisco IOS / IOS-XE (Catalyst)',
  dell: 'Dell PowerConnect 5424/5448',
  hp: 'HP ProCurve / ArubaOS-Switch',
};

const MODE_NAMES: Record<NlbMode, string> = { unicast: 'unicast', multicast: 'multicast', igmp: 'IGMP multicast' };

const REMOVE_HEADING = 'After the migration (the cluster IP answers on Fulcrum and NLB is gone from the nodes), remove:';

/** Letters, digits and / . : — every vendor's port names (Gi1/0/1, GigabitEthernet1/0/1, g1, ch1, A1, 1/1/1, Trk1). */
const PORT_NAME = /^[A-Za-z0-9][A-Za-z0-9/.:]{0,63}$/;

export function parseVendor(text: string): SwitchVendor | undefined {
  const word = text.toLowerCase();
  return (SWITCH_VENDORS as readonly string[]).includes(word) ? (word as SwitchVendor) : undefined;
}

export function parseVlan(text: string): ParseResult<number> {
  const vlan = /^[0-9]{1,4}$/.test(text) ? Number(text) : NaN;
  // 0 and 4095 are reserved by 802.1Q.
  if (!(vlan >= 1 && vlan <= 4094)) return { ok: false, message: `--vlan "${text}" is not a VLAN ID: give a number from 1 to 4094` };
  return { ok: true, value: vlan };
}

/** Comma-separated lists (one or several --ports); each port named once. */
export function parsePorts(lists: readonly string[]): ParseResult<string[]> {
  const ports: string[] = [];
  for (const list of lists) {
    for (const raw of list.split(',')) {
      const port = raw.trim();
      if (port === '') return { ok: false, message: `--ports "${list}" has an empty entry: list the ports that lead to the nodes, separated by commas (Gi1/0/1,Gi1/0/2)` };
      if (!PORT_NAME.test(port)) {
        const range = port.includes('-') ? '; list ports one by one, since each vendor writes ranges its own way' : '';
        return { ok: false, message: `--ports: "${port}" is not a port name (letters, digits and / . :, e.g. Gi1/0/1, g1, A1)${range}` };
      }
      if (ports.includes(port)) return { ok: false, message: `--ports: "${port}" is given twice` };
      ports.push(port);
    }
  }
  if (ports.length === 0) return { ok: false, message: '--ports needs at least one port that leads to a node' };
  return { ok: true, value: ports };
}

export function switchSnippet(request: SwitchConfigRequest): SwitchSnippet {
  const facts = factsOf(request);
  const { add, remove } = VENDORS[request.vendor][request.mode](facts);
  const mac = macForms(facts.mac);
  const group = request.mode === 'igmp' ? `, IGMP group ${facts.group}` : '';
  const header = [
    `Windows NLB ${MODE_NAMES[request.mode]} mode on ${VENDOR_NAMES[request.vendor]}`,
    `Cluster IP ${facts.vip}, cluster MAC ${mac.windows} (${facts.switchMac})${group}, VLAN ${facts.vlan}, node ports ${facts.ports.join(' ')}`,
    PASTE_HINTS[request.vendor],
  ];
  return { vendor: request.vendor, mode: request.mode, commentMark: COMMENT_MARKS[request.vendor], switchMac: facts.switchMac, header, add, remove };
}

/** The snippet as an administrator pastes it: blocks separated by an empty comment line. */
export function renderSnippet(snippet: SwitchSnippet): string {
  const comment = (text: string): string => (text === '' ? snippet.commentMark : `${snippet.commentMark} ${text}`);
  const [firstRemove, ...otherRemoves] = snippet.remove;
  const removal: ConfigBlock[] = [
    { comments: [REMOVE_HEADING, ...(firstRemove?.comments ?? [])], commands: firstRemove?.commands ?? [] },
    ...otherRemoves,
  ];
  const blocks = [{ comments: snippet.header, commands: [] }, ...snippet.add, ...removal];
  const lines = blocks.map((block) => [...block.comments.map(comment), ...block.commands].join('\n'));
  return `${lines.join(`\n${snippet.commentMark}\n`)}\n`;
}

/** The commands alone, in order: what a script pastes. */
export function commandsOf(blocks: readonly ConfigBlock[]): string[] {
  return blocks.flatMap((block) => block.commands);
}

interface Facts {
  vip: string;
  vlan: number;
  ports: readonly string[];
  mac: MacBytes;
  /** Cisco notation, for the router's static ARP entry whatever the switch. */
  ciscoMac: string;
  /** The MAC as this vendor writes it. */
  switchMac: string;
  group: string;
}

type Generator = (facts: Facts) => { add: ConfigBlock[]; remove: ConfigBlock[] };

const COMMENT_MARKS: Record<SwitchVendor, string> = { cisco: '!', dell: '!', hp: ';' };

const PASTE_HINTS: Record<SwitchVendor, string> = {
  cisco: 'Enter in global configuration mode (configure terminal).',
  dell: 'Enter in global configuration mode (configure).',
  hp: 'Enter in the configuration context (configure).',
};

function factsOf(request: SwitchConfigRequest): Facts {
  const mac = clusterMac(request.ip, request.mode);
  const forms = macForms(mac);
  const switchMac = request.vendor === 'cisco' ? forms.cisco : request.vendor === 'dell' ? forms.colon : hpMac(mac);
  return { vip: formatIpv4(request.ip), vlan: request.vlan, ports: request.ports, mac, ciscoMac: forms.cisco, switchMac, group: igmpGroup(request.ip) };
}

/** ProCurve's notation: 03bfac-1f01e8. */
function hpMac(mac: MacBytes): string {
  const hex = mac.map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 6)}-${hex.slice(6)}`;
}

// ---- What every vendor's snippet says ----

function arpReason(f: Facts): string[] {
  return [
    `Static ARP entry, on the router (or layer-3 switch) that routes VLAN ${f.vlan}: a router ignores ARP`,
    `replies that map a unicast IP address to a multicast MAC (RFC 1812, 3.3.2), so without this`,
    `entry the cluster IP cannot be reached from other subnets.`,
  ];
}

/** For a switch whose own commands do not hold the ARP entry: the line for the router. */
function routerArp(f: Facts, why: string): ConfigBlock {
  return { comments: [...arpReason(f), why, `On a Cisco IOS router: arp ${f.vip} ${f.ciscoMac} ARPA`], commands: [] };
}

function routerArpRemoval(f: Facts): ConfigBlock {
  return { comments: [`On the router, its static ARP entry too (Cisco IOS: no arp ${f.vip} ${f.ciscoMac} ARPA).`], commands: [] };
}

function unicastReason(f: Facts): string[] {
  return [
    `Unicast mode: every node takes the cluster MAC ${f.switchMac}, and NLB masks it as the source of`,
    `the frames the nodes send, so the switch never learns it and floods every frame for the cluster`,
    `to all ports of VLAN ${f.vlan}. That flooding is how unicast NLB reaches all nodes; the usual ways to`,
    `contain it: a VLAN of its own for the cluster (the node ports and the router's), so only they`,
    `get the flood; on the other switches, a static entry for the cluster MAC on the one port that`,
    `leads to the nodes' switch. A static unicast entry takes one port on Cisco IOS, on the`,
    `PowerConnect 54xx and on ArubaOS-Switch; switches made for this case take several: HPE Comware`,
    `(mac-address multiport), D-Link DGS (nlb unicast-fdb), Dell Networking OS9 (ip vlan-flooding).`,
    `Unicast mode needs no static ARP entry: routers accept the cluster's unicast MAC.`,
  ];
}

function severalNodePorts(f: Facts): string[] {
  return [`The nodes sit behind ${f.ports.length} ports (${f.ports.join(' ')}): the switch must flood to reach`, 'them all, so there is nothing to add here.'];
}

function onePortReason(f: Facts): string[] {
  return [`${f.ports[0]} leads to every node (an uplink, or the Hyper-V host they all run on): send the`, `cluster's traffic there only.`];
}

const NOTHING_ADDED_FOR_UNICAST = 'Nothing was added for unicast mode. If the cluster got a VLAN of its own, move its ports back.';

/** For settings of the whole switch or VLAN, added for NLB but kept on removal. */
function keptOn(what: string, undo: string): string {
  return `${what} on; only if nothing else in the VLAN uses multicast: ${undo}`;
}

// ---- Cisco IOS / IOS-XE ----

function ciscoMulticast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  return {
    add: [
      { comments: arpReason(f), commands: [`arp ${f.vip} ${f.switchMac} ARPA`] },
      {
        comments: [
          `Static MAC-table entry: no frame is ever sent from the cluster MAC, so the switch cannot learn`,
          `it and floods the cluster's traffic to every port of VLAN ${f.vlan}; this entry sends it to the`,
          `node ports only. With several switches, add it on each, with the ports that lead to the nodes.`,
          `Current IOS and IOS-XE spell it "mac address-table static"; older IOS releases (and many NLB`,
          `guides) spell it "mac-address-table static": use that form if the switch rejects this one.`,
        ],
        commands: [`mac address-table static ${f.switchMac} vlan ${f.vlan} interface ${f.ports.join(' ')}`],
      },
    ],
    remove: [
      { comments: [], commands: [`no mac address-table static ${f.switchMac} vlan ${f.vlan}`, `no arp ${f.vip} ${f.switchMac} ARPA`] },
    ],
  };
}

function ciscoIgmp(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  const statics = f.ports.map((port) => `ip igmp snooping vlan ${f.vlan} static ${f.group} interface ${port}`);
  return {
    add: [
      { comments: arpReason(f), commands: [`arp ${f.vip} ${f.switchMac} ARPA`] },
      {
        comments: [
          `IGMP snooping (on by default on Catalyst switches) forwards group ${f.group} only to the ports`,
          `whose nodes joined it; keep it on, globally and for VLAN ${f.vlan}.`,
        ],
        commands: ['ip igmp snooping', `ip igmp snooping vlan ${f.vlan}`],
      },
      {
        comments: [
          `Snooping learns the members from their answers to IGMP queries: when no multicast router`,
          `queries VLAN ${f.vlan}, this switch does (from the VLAN's interface address; give it one with`,
          `"ip igmp snooping querier address A.B.C.D" if VLAN ${f.vlan} has none).`,
          `Global: affects every VLAN, not only VLAN ${f.vlan} (the querier runs on each VLAN with snooping on).`,
        ],
        commands: ['ip igmp snooping querier'],
      },
      {
        comments: [`The node ports as static members of ${f.group}, so that the cluster's traffic reaches them`, 'before their first report, and without a querier.'],
        commands: statics,
      },
    ],
    remove: [
      {
        comments: [],
        commands: [...statics.map((line) => `no ${line}`), `no arp ${f.vip} ${f.switchMac} ARPA`],
      },
      { comments: [keptOn('IGMP snooping and its querier stay', 'no ip igmp snooping querier')], commands: [] },
    ],
  };
}

function ciscoUnicast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  if (f.ports.length > 1) {
    return { add: [{ comments: [...unicastReason(f), ...severalNodePorts(f)], commands: [] }], remove: [{ comments: [NOTHING_ADDED_FOR_UNICAST], commands: [] }] };
  }
  return {
    add: [
      { comments: unicastReason(f), commands: [] },
      { comments: onePortReason(f), commands: [`mac address-table static ${f.switchMac} vlan ${f.vlan} interface ${f.ports[0]}`] },
    ],
    remove: [{ comments: [], commands: [`no mac address-table static ${f.switchMac} vlan ${f.vlan}`] }],
  };
}

// ---- Dell PowerConnect 5424/5448 ----

/** `ethernet g1,g2` and `port-channel 1,2` (ports named chN): the two kinds go in separate commands. */
function dellPortLists(ports: readonly string[]): string[] {
  const channels = ports.flatMap((port) => /^ch([0-9]+)$/i.exec(port)?.[1] ?? []);
  const ethernet = ports.filter((port) => !/^ch[0-9]+$/i.test(port));
  return [...(ethernet.length > 0 ? [`ethernet ${ethernet.join(',')}`] : []), ...(channels.length > 0 ? [`port-channel ${channels.join(',')}`] : [])];
}

const DELL_L2 = 'The PowerConnect 54xx routes nothing, so this entry is not for this switch.';

function dellGroup(f: Facts, comments: string[]): ConfigBlock {
  const adds = dellPortLists(f.ports).map((ports) => `bridge multicast address ${f.switchMac} add ${ports}`);
  return { comments, commands: [`interface vlan ${f.vlan}`, ...adds, 'exit'] };
}

function dellGroupRemoval(f: Facts, kept: string): ConfigBlock[] {
  return [
    { comments: [], commands: [`interface vlan ${f.vlan}`, `no bridge multicast address ${f.switchMac}`, 'exit'] },
    { comments: [kept], commands: [] },
    routerArpRemoval(f),
  ];
}

const DELL_FILTERING = [
  'Multicast filtering: while it is off, the switch floods every multicast frame to the whole VLAN,',
  'static groups included. Global: affects every VLAN, not only this one.',
];

function dellMulticast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  return {
    add: [
      routerArp(f, DELL_L2),
      { comments: DELL_FILTERING, commands: ['bridge multicast filtering'] },
      dellGroup(f, [
        `The cluster MAC as a static multicast group of VLAN ${f.vlan} on the node ports: the switch never`,
        `learns it (no frame comes from it), so only this entry keeps the cluster's traffic off the other ports.`,
      ]),
    ],
    remove: dellGroupRemoval(f, keptOn('Multicast filtering stays', 'no bridge multicast filtering')),
  };
}

function dellIgmp(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  return {
    add: [
      routerArp(f, DELL_L2),
      { comments: DELL_FILTERING, commands: ['bridge multicast filtering'] },
      {
        comments: [`IGMP snooping, globally and for VLAN ${f.vlan}: the switch learns from the nodes' IGMP reports`, `which ports joined ${f.group}.`],
        commands: ['ip igmp snooping', `interface vlan ${f.vlan}`, 'ip igmp snooping', 'exit'],
      },
      dellGroup(f, [
        `Group ${f.group} (MAC ${f.switchMac}) as a static group on the node ports too: snooping keeps a`,
        `group only while something queries the VLAN (a multicast router, or a switch acting as`,
        `querier), and this entry holds without one.`,
      ]),
    ],
    remove: dellGroupRemoval(f, keptOn('Multicast filtering and IGMP snooping stay', 'no bridge multicast filtering, no ip igmp snooping')),
  };
}

function dellUnicast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  const [list] = dellPortLists(f.ports);
  if (f.ports.length > 1 || list === undefined) {
    return { add: [{ comments: [...unicastReason(f), ...severalNodePorts(f)], commands: [] }], remove: [{ comments: [NOTHING_ADDED_FOR_UNICAST], commands: [] }] };
  }
  return {
    add: [
      { comments: unicastReason(f), commands: [] },
      { comments: onePortReason(f), commands: [`interface vlan ${f.vlan}`, `bridge address ${f.switchMac} ${list} permanent`, 'exit'] },
    ],
    remove: [{ comments: [], commands: [`interface vlan ${f.vlan}`, `no bridge address ${f.switchMac}`, 'exit'] }],
  };
}

// ---- HP ProCurve / ArubaOS-Switch ----

const HP_ROUTER = 'On an ArubaOS-Switch that routes the VLAN, the entry goes there, in its own ARP syntax.';

function hpMulticast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  return {
    add: [
      routerArp(f, HP_ROUTER),
      {
        comments: [
          `On ArubaOS-Switch, what keeps a multicast MAC such as the cluster's off a port is the static`,
          `multicast filter, and it works the other way round: it drops the MAC on the ports it lists and`,
          `forwards it on all others. So list every port of VLAN ${f.vlan} that does NOT lead to a node (all but`,
          `${f.ports.join(',')}) and enter:`,
          `  filter multicast ${f.switchMac} drop PORTS`,
          `IGMP multicast mode needs no port list here: IGMP finds the node ports (--mode igmp).`,
        ],
        commands: [],
      },
    ],
    remove: [
      { comments: ['If you entered the multicast filter:'], commands: [`no filter multicast ${f.switchMac}`] },
      routerArpRemoval(f),
    ],
  };
}

function hpIgmp(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  return {
    add: [
      routerArp(f, HP_ROUTER),
      {
        comments: [
          `IGMP on VLAN ${f.vlan}: the switch learns from the nodes' reports which ports joined ${f.group}`,
          `and forwards the cluster's traffic (MAC ${f.switchMac}) to those ports only. The querier keeps`,
          `the groups learned; it needs an IP address on VLAN ${f.vlan} and steps back when a multicast`,
          `router queries the VLAN. "ip igmp static-group" is not used: it floods the group to every port.`,
          `The node ports (${f.ports.join(',')}) stay in IGMP's default "auto" mode.`,
        ],
        commands: [`vlan ${f.vlan}`, 'ip igmp', 'ip igmp querier', 'exit'],
      },
    ],
    remove: [
      { comments: [keptOn(`IGMP stays`, `vlan ${f.vlan}, no ip igmp, exit`)], commands: [] },
      routerArpRemoval(f),
    ],
  };
}

function hpUnicast(f: Facts): { add: ConfigBlock[]; remove: ConfigBlock[] } {
  const onePort = f.ports.length === 1 ? [...onePortReason(f), 'A static MAC entry on that port does it (static-mac; "static-mac ?" shows the form your release takes).'] : severalNodePorts(f);
  const removal = f.ports.length === 1 ? 'If you entered that static-mac entry, remove it with its no form.' : NOTHING_ADDED_FOR_UNICAST;
  return { add: [{ comments: [...unicastReason(f), ...onePort], commands: [] }], remove: [{ comments: [removal], commands: [] }] };
}

const VENDORS: Record<SwitchVendor, Record<NlbMode, Generator>> = {
  cisco: { unicast: ciscoUnicast, multicast: ciscoMulticast, igmp: ciscoIgmp },
  dell: { unicast: dellUnicast, multicast: dellMulticast, igmp: dellIgmp },
  hp: { unicast: hpUnicast, multicast: hpMulticast, igmp: hpIgmp },
};
