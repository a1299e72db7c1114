/**
 * Active health checking, hosted by the control plane (see monitor.ts). What the supervisor
 * and the admin API use; the files behind it are one concept each.
 */
export { HealthMonitor, type HealthMonitorEvents, type HealthMonitorOptions } from './monitor.ts';
export { createProbe, probe, type Probe } from './probe.ts';
export type { HttpsProbeOptions } from './probe-https.ts';
export { HealthStateMachine, type Thresholds } from './state-machine.ts';
export { describeCheck } from './target.ts';
export type {
  CertificateInfo,
  HealthChange,
  HealthLogger,
  HealthStatus,
  LastCheck,
  ProbeDetail,
  ProbeResult,
  ServerHealthStatus,
} from './types.ts';
