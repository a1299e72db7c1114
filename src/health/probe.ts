/**
 * One check of one real server, whatever its type. type none never reaches here (the monitor
 * does not schedule it); it answers "up" for completeness.
 */
import type { HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { probeDns } from './probe-dns.ts';
import { probeFtp } from './probe-ftp.ts';
import { probeHttp } from './probe-http.ts';
import { type HttpsProbeOptions, probeHttps } from './probe-https.ts';
import { probeTcp } from './probe-tcp.ts';
import type { ProbeResult } from './types.ts';

/** The shape the monitor calls; tests substitute their own. */
export type Probe = (address: HostPort, check: HealthCheckConfig, signal?: AbortSignal) => Promise<ProbeResult>;

export function createProbe(httpsOptions: HttpsProbeOptions = {}): Probe {
  return (address, check, signal) => {
    switch (check.type) {
      case 'none':
        return Promise.resolve({ ok: true, latencyMs: 0, reason: 'not checked (healthCheck type none)' });
      case 'tcp':
        return probeTcp(address, check, signal);
      case 'http':
        return probeHttp(address, check, signal);
      case 'https':
        return probeHttps(address, check, signal, httpsOptions);
      case 'ftp':
        return probeFtp(address, check, signal);
      case 'dns':
        return probeDns(address, check, signal);
    }
  };
}

export const probe: Probe = createProbe();
