/**
 * The management plane of one node, as the supervisor hosts it: the state database (users,
 * tokens, sessions, audit, config versions, statistics history), the config store and its one
 * change path, the API's handlers, the console's files, and the admin listener itself. The
 * supervisor gives it what only the supervisor knows (status, the running config, the reload
 * path) through PlaneHost; nothing here touches the data path.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadResult } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { isLoopback as isLoopbackListen } from '../config/admin.ts';
import { FileConfigStore } from '../store/file-store.ts';
import { VersionArchive } from '../store/version-archive.ts';
import type { ChangeSource, StoredConfig } from '../store/config-store.ts';
import { createAdminHandler } from './api.ts';
import { AuditLog } from './audit.ts';
import { createAuthenticator, type Authenticator } from './auth/authenticate.ts';
import { LoginLimiter } from './auth/login-limiter.ts';
import { SessionStore } from './auth/sessions.ts';
import { TokenStore } from './auth/tokens.ts';
import { UserStore } from './auth/users.ts';
import { ConfigChanges } from './config-changes.ts';
import { createConsoleAssets } from './console-assets.ts';
import { ensureFirstAdmin, type FirstAdminOutcome } from './first-admin.ts';
import { authHandlers } from './handlers/auth.ts';
import { backupHandlers } from './handlers/backup.ts';
import { certificateHandlers } from './handlers/certificates.ts';
import { configHandlers } from './handlers/config.ts';
import type { Handler } from './handlers/context.ts';
import { collectionHandlers, FQDNS, POOLS, REAL_SERVERS, RULES, SITES, VIRTUAL_SERVICES, ZONES } from './handlers/items.ts';
import { observationHandlers } from './handlers/observation.ts';
import { stateHandlers } from './handlers/state.ts';
import { openStateDatabase, statePath, type StateDatabase } from './state/database.ts';
import type { ReloadOutcome, SetSiteStateOutcome, SiteState, StatusDocument } from './types.ts';
import type { StatsHistory } from '../metrics/history.ts';

export interface PlaneHost {
  configPath: string;
  running: () => Config;
  status: () => Promise<StatusDocument>;
  reload: (loaded: Extract<LoadResult, { ok: true }>) => Promise<ReloadOutcome>;
  serially: <T>(task: () => Promise<T>) => Promise<T>;
  setSiteState: (fqdn: string, site: string, state: SiteState) => Promise<SetSiteStateOutcome>;
  /** Prometheus text of this node (src/metrics). */
  metrics: () => Promise<string>;
  history: () => StatsHistory | null;
  log: { info: (fields: Record<string, unknown>, message: string) => void; warn: (fields: Record<string, unknown>, message: string) => void; error: (fields: Record<string, unknown>, message: string) => void };
}

export class AdminPlane {
  readonly db: StateDatabase;
  readonly store: FileConfigStore;
  readonly users: UserStore;
  readonly audit: AuditLog;
  readonly auth: Authenticator;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly #host: PlaneHost;
  #secure = false;

  constructor(host: PlaneHost) {
    this.#host = host;
    const config = host.running();
    this.db = openStateDatabase(statePath(host.configPath, config.admin?.database));
    this.store = new FileConfigStore(host.configPath, new VersionArchive(this.db.sql));
    this.users = new UserStore(this.db);
    const tokens = new TokenStore(this.db);
    const sessions = new SessionStore(this.db);
    this.audit = new AuditLog(this.db);
    this.auth = createAuthenticator({ users: this.users, tokens, sessions, limiter: new LoginLimiter() });
    const changes = new ConfigChanges({ store: this.store, reload: host.reload, serially: host.serially, audit: this.audit });
    const read = (): Promise<StoredConfig> => this.store.read();
    const collection = (c: typeof VIRTUAL_SERVICES, prefix: string): Record<string, Handler> => {
      const h = collectionHandlers(c, changes, read);
      return { [`${prefix}.list`]: h.list, [`${prefix}.get`]: h.get, [`${prefix}.create`]: h.create, [`${prefix}.replace`]: h.replace, [`${prefix}.delete`]: h.remove };
    };
    const auditEntry = (entry: Parameters<AuditLog['append']>[0]): void => void this.audit.append(entry);
    const handlers: Record<string, Handler> = {
      ...authHandlers({ auth: this.auth, users: this.users, tokens, sessions, audit: this.audit }),
      ...collection(VIRTUAL_SERVICES, 'virtualServices'),
      ...collection(POOLS, 'pools'),
      ...collection(REAL_SERVERS, 'realServers'),
      ...collection(FQDNS, 'fqdns'),
      ...collection(RULES, 'rules'),
      ...collection(ZONES, 'zones'),
      ...collection(SITES, 'sites'),
      ...configHandlers(this.store, changes),
      ...stateHandlers({ changes, running: host.running, status: host.status, setSiteState: host.setSiteState, log: host.log.info, audit: auditEntry }),
      ...certificateHandlers({ folder: join(dirname(this.db.path), 'certificates'), status: host.status, running: host.running, audit: auditEntry }),
      ...backupHandlers({ db: this.db, store: this.store, changes, version: packageVersion(), audit: auditEntry, log: host.log.error }),
      ...observationHandlers({ status: host.status, metrics: host.metrics, history: host.history, audit: this.audit }),
    };
    const assets = createConsoleAssets();
    this.handler = createAdminHandler({
      auth: this.auth,
      audit: this.audit,
      handlers,
      allowedHosts: () => (host.running().admin?.allowedHosts ?? []).map((h) => h.toLowerCase()),
      metricsPublic: () => host.running().admin?.metrics.public === true,
      secure: () => this.#secure,
      console: (req, res) => assets.handle(req, res),
      log: host.log.error,
    });
  }

  set secure(value: boolean) {
    this.#secure = value;
  }

  /** At start: the first admin from the environment, and whether the admin listener may open where it is asked to. */
  async prepare(env: NodeJS.ProcessEnv): Promise<{ ok: true; firstAdmin: FirstAdminOutcome } | { ok: false; message: string }> {
    const log = { info: (m: string) => this.#host.log.info({}, m), warn: (m: string) => this.#host.log.warn({}, m) };
    let firstAdmin: FirstAdminOutcome;
    try {
      firstAdmin = await ensureFirstAdmin(this.users, env, log);
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    const refusal = this.listenRefusal(this.#host.running());
    return refusal === null ? { ok: true, firstAdmin } : { ok: false, message: refusal };
  }

  /** Off loopback, the admin listener needs users (TLS is the config's own check, src/config/admin.ts). */
  listenRefusal(config: Config): string | null {
    const admin = config.admin;
    if (admin === undefined || isLoopbackListen(admin.listen) || this.users.count() > 0) return null;
    return `the admin listener on ${admin.listen.host}:${admin.listen.port} is reachable from the network, and there are no users yet: create the first admin with \`fulcrum user add NAME --role admin -c ${this.#host.configPath}\` (or set FULCRUM_ADMIN_USER and FULCRUM_ADMIN_PASSWORD), or listen on loopback`;
  }

  /** A config put into service by a start or a SIGHUP becomes a version (a no-op when the newest version is this text). */
  async remember(source: ChangeSource, user = 'system'): Promise<void> {
    try {
      const stored = await this.store.read();
      const previous = this.store.versions()[0];
      const version = this.store.remember(stored, { user, source, summary: source === 'start' ? 'in service at start' : source === 'sighup' ? 'reloaded from the file (SIGHUP)' : source });
      // An edit by hand, put into service by SIGHUP, is a change like any other: it gets its audit line and diff.
      if (version !== null && source === 'sighup') {
        const before = previous === undefined ? '' : (this.store.version(previous.id)?.text ?? '');
        const name = basename(this.store.location);
        this.audit.append({ user, address: '', action: 'config.reload', target: 'SIGHUP', outcome: 'ok', diff: createTwoFilesPatch(name, name, before, stored.text, `version ${previous?.id ?? 0}`, `version ${version.id}`) });
      }
    } catch (error) {
      this.#host.log.warn({ error: String(error) }, 'could not record the config version');
    }
  }

  close(): void {
    this.db.close();
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
