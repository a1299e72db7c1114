/**
 * Windows NLB's address arithmetic: the cluster MAC that NLB derives from a cluster IP in each of
 * its three operation modes, and the IGMP group of its IGMP multicast mode. What `nlb ip2mac`
 * printed on Windows, so that an administrator can check a switch, a router's ARP table or a
 * migration checklist against it without a Windows host at hand.
 *
 * For a cluster IP w.x.y.z (Microsoft's NLB technical overview, "Distribution of Cluster Traffic",
 * and `nlb ip2mac`):
 *   unicast          02-bf-w-x-y-z   the nodes' adapters all take this station address
 *   multicast        03-bf-w-x-y-z   added to each adapter, which keeps its own MAC
 *   IGMP multicast   01-00-5e-7f-y-z the IPv4 multicast MAC of group 239.255.y.z (RFC 1112's
 *                                   mapping of the group's low 23 bits), which the nodes join
 * The arithmetic takes the four bytes of an IPv4 cluster IP: these commands take IPv4 only, and
 * say so when given an IPv6 address.
 */
import { parseIpInto } from '../ip/bytes.ts';

export const NLB_MODES = ['unicast', 'multicast', 'igmp'] as const;
export type NlbMode = (typeof NLB_MODES)[number];

/** A cluster IP as its four bytes. */
export type Ipv4Bytes = readonly [number, number, number, number];
export type MacBytes = readonly [number, number, number, number, number, number];

export type ClusterIpResult = { ok: true; value: Ipv4Bytes } | { ok: false; message: string };

/** The three spellings administrators compare: Windows, Cisco IOS, and colon (Linux, most others). */
export interface MacForms {
  windows: string;
  cisco: string;
  colon: string;
}

/**
 * A cluster IP typed by an administrator, as dotted IPv4 (192.168.1.100). IPv6 gets its own
 * message, since an administrator may well try the cluster's IPv6 address; and addresses no
 * cluster can have (0/8, loopback, multicast and reserved 224/3) are refused with the reason.
 */
export function parseClusterIp(text: string): ClusterIpResult {
  const example = 'e.g. 192.168.1.100';
  if (text.includes(':')) {
    return { ok: false, message: `"${text}" is an IPv6 address, and NLB clusters are IPv4: give the cluster's IPv4 address, ${example}` };
  }
  const bytes = new Uint8Array(16);
  if (text.includes('%') || parseIpInto(text, bytes) !== 4) {
    return { ok: false, message: `"${text}" is not an IPv4 address: give the cluster IP (NLB clusters are IPv4) as four numbers from 0 to 255 with dots, ${example}` };
  }
  const value: Ipv4Bytes = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const first = value[0];
  if (first === 0 || first === 127 || first >= 224) {
    const kind = first === 0 ? 'a "this network" address (0/8)' : first === 127 ? 'a loopback address' : first < 240 ? 'a multicast address' : 'a reserved address';
    return { ok: false, message: `"${text}" is ${kind}, which no NLB cluster can have: give the cluster's unicast IPv4 address, ${example}` };
  }
  return { ok: true, value };
}

/**
 * A mode as typed: unicast, multicast, igmp, case-insensitive; also PowerShell's names
 * (Set-NlbCluster -OperationMode Unicast|Multicast|IgmpMulticast) and "IGMP multicast" as NLB
 * Manager's check box says it. Undefined when it is none of these.
 */
export function parseNlbMode(text: string): NlbMode | undefined {
  const word = text.toLowerCase().replace(/[\s_-]/g, '');
  if (word === 'igmpmulticast') return 'igmp';
  return (NLB_MODES as readonly string[]).includes(word) ? (word as NlbMode) : undefined;
}

export function clusterMac(ip: Ipv4Bytes, mode: NlbMode): MacBytes {
  const [w, x, y, z] = ip;
  switch (mode) {
    case 'unicast':
      return [0x02, 0xbf, w, x, y, z];
    case 'multicast':
      return [0x03, 0xbf, w, x, y, z];
    case 'igmp':
      return [0x01, 0x00, 0x5e, 0x7f, y, z];
  }
}

/** The group the nodes join in IGMP multicast mode: 239.255 and the cluster IP's last two bytes. */
export function igmpGroup(ip: Ipv4Bytes): string {
  return `239.255.${ip[2]}.${ip[3]}`;
}

export function macForms(mac: MacBytes): MacForms {
  const hex = mac.map((byte) => byte.toString(16).padStart(2, '0'));
  return {
    windows: hex.join('-'),
    cisco: `${hex[0]}${hex[1]}.${hex[2]}${hex[3]}.${hex[4]}${hex[5]}`,
    colon: hex.join(':'),
  };
}

export function formatIpv4(ip: Ipv4Bytes): string {
  return ip.join('.');
}
