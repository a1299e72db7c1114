/**
 * Types only: where the config lives. The supervisor, the admin API and the CLI read and change
 * the config through this one interface, so that the YAML file (file-store.ts) and, later, an
 * etcd key hold it the same way (Caddy's and Traefik's "config is one document" model).
 *
 * A revision names one exact text; a write says which revision it was made against, and fails
 * with `stale` when the store moved on meanwhile (someone edited the file, another node wrote
 * etcd): the caller re-reads and decides, nothing is overwritten blindly.
 */

/** Who asked for a change, from where: recorded with each version. */
export type ChangeSource = 'api' | 'console' | 'cli' | 'sighup' | 'start' | 'restore' | 'certificate';

export interface StoredConfig {
  text: string;
  /** A short hash of the text: equal texts have equal revisions, on every node. */
  revision: string;
}

export interface ChangeMeta {
  /** The revision the change was made against; the write fails as `stale` if it is no longer current. */
  expectedRevision: string;
  user: string;
  source: ChangeSource;
  /** One line: "virtual service web: replaced". */
  summary: string;
}

export interface ConfigVersion {
  /** Increasing; the id `restore` takes. */
  id: number;
  revision: string;
  /** ISO 8601. */
  createdAt: string;
  user: string;
  source: ChangeSource;
  summary: string;
}

export type WriteOutcome =
  | { ok: true; stored: StoredConfig }
  | { ok: false; reason: 'stale'; current: StoredConfig }
  | { ok: false; reason: 'read-only' | 'io'; message: string };

export interface ConfigStore {
  /** Where it lives, for messages and problems ("/etc/fulcrum/fulcrum.yaml"). */
  readonly location: string;
  read(): Promise<StoredConfig>;
  /** Replace the text if the store is still at meta.expectedRevision; atomic (all or nothing). */
  write(text: string, meta: ChangeMeta): Promise<WriteOutcome>;
  /** Called after every change this store learns of (its own writes, and others' where it can see them). */
  watch(listener: (stored: StoredConfig) => void): () => void;
  /** Record a text as a version (the one a start or a SIGHUP put into service); no-op when the newest version has this revision. */
  remember(stored: StoredConfig, meta: Omit<ChangeMeta, 'expectedRevision'>): ConfigVersion | null;
  /** The kept versions, newest first. */
  versions(): ConfigVersion[];
  version(id: number): (ConfigVersion & { text: string }) | null;
}
