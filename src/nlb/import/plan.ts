/**
 * Types only: the import's result before it is text. mapping.ts fills it from the model; render.ts
 * writes it as YAML with its comments, and --json prints `config` as it is. A draft is the config
 * as a user would write it (the schema's input), not the resolved Config the loader returns.
 */

export interface RealServerDraft {
  address: string;
  weight?: number;
  state?: 'disabled' | 'drain';
}

export interface PersistenceDraft {
  type: 'source-ip';
  sourceMask?: number;
}

export interface HealthCheckDraft {
  type: 'tcp' | 'http' | 'https' | 'dns';
  path?: string;
}

export interface VirtualServiceDraft {
  name: string;
  listen: string;
  protocol: 'tcp' | 'udp';
  scheduler: 'round-robin' | 'weighted-round-robin' | 'fixed-weight';
  persistence?: PersistenceDraft;
  healthCheck?: HealthCheckDraft;
  realServers: RealServerDraft[];
}

export interface ConfigDraft {
  virtualServices: VirtualServiceDraft[];
}

export interface ServicePlan {
  service: VirtualServiceDraft;
  /** Comment lines above the service. */
  notes: string[];
  /** Comment lines above one of its keys. */
  keyNotes: Partial<Record<keyof VirtualServiceDraft, string[]>>;
  /** A comment after each real server (which node it is), in realServers order. */
  serverNotes: string[];
}

export interface ImportPlan {
  /** Comment lines at the top of the file: where it came from, what was not carried over, warnings. */
  header: string[];
  services: ServicePlan[];
  warnings: string[];
}
