/**
 * One check of one GSLB site, whatever its type: tcp, http and https by the real servers' probes
 * (src/health) against `check.target`, icmp by the system's ping, fulcrum by another node's
 * admin API, which also reports a load for `selection: real-server-load`.
 */
import { formatAddress } from '../config/address.ts';
import { asHealthCheck, type SiteCheckConfig } from '../config/gslb.ts';
import { createProbe } from '../health/probe.ts';
import type { HttpsProbeOptions } from '../health/probe-https.ts';
import { describeCheck } from '../health/target.ts';
import type { ProbeResult } from '../health/types.ts';
import { probeFulcrum } from './probe-fulcrum.ts';
import { type IcmpProbeOptions, probeIcmp } from './probe-icmp.ts';

export interface SiteProbeResult extends ProbeResult {
  /** fulcrum checks: the node's load (lower is better; null: unknown). Absent for other types. */
  load?: number | null;
}

/** The shape the check driver calls; tests substitute their own. */
export type SiteProbe = (check: SiteCheckConfig, signal: AbortSignal) => Promise<SiteProbeResult>;

export interface SiteProbeOptions {
  https?: HttpsProbeOptions;
  icmp?: IcmpProbeOptions;
}

export const NOT_CHECKED = 'not checked (check type none)';

export function createSiteProbe(options: SiteProbeOptions = {}): SiteProbe {
  const realServerProbe = createProbe(options.https);
  return (check, signal) => {
    const target = check.target;
    if (check.type === 'none' || target === null) return Promise.resolve({ ok: true, latencyMs: 0, reason: NOT_CHECKED });
    switch (check.type) {
      case 'icmp':
        return probeIcmp(target.host, check.timeout, signal, options.icmp);
      case 'fulcrum':
        return probeFulcrum(target, check.fulcrum ?? { virtualService: '', minUp: 1 }, check.timeout, signal);
      default:
        return realServerProbe(target, asHealthCheck(check)!, signal);
    }
  };
}

/** What is checked, in words, for the status view: "tcp connect to 127.0.0.1:9002", ... */
export function describeSiteCheck(check: SiteCheckConfig): string {
  const target = check.target;
  if (check.type === 'none' || target === null) return NOT_CHECKED;
  if (check.type === 'icmp') return `icmp echo to ${target.host}`;
  if (check.type === 'fulcrum') {
    const { virtualService, minUp } = check.fulcrum ?? { virtualService: '', minUp: 1 };
    return `fulcrum node ${formatAddress(target)}: virtual service ${virtualService}, at least ${minUp} real server${minUp === 1 ? '' : 's'} up`;
  }
  return describeCheck(target, asHealthCheck(check)!);
}
