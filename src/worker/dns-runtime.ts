/**
 * A worker's share of GSLB: the DNS servers (UDP and TCP at every gslb.listen address, bound with
 * SO_REUSEPORT beside the other workers') and the answers' live inputs, one FqdnSelector per
 * FQDN. The supervisor runs the site checks; what they conclude arrives as site reports
 * (setSites), which move the selectors in place: the engine's templates per answer stay valid.
 *
 * A config change is two steps so that the worker can apply it with its virtual services as one:
 * prepare() binds new addresses and builds the new engine (the steps that can fail), commit()
 * swaps it in between two queries and closes the addresses that left.
 */
import type { GslbConfig } from '../config/gslb.ts';
import { DnsAnswerer, type DnsCounters } from '../dns/answerer.ts';
import { AuthorityEngine } from '../dns/authority.ts';
import { DnsTcpServer } from '../dns/tcp-server.ts';
import { DnsUdpServer } from '../dns/udp-server.ts';
import { locationTableOf, startsUp, toGslbFqdn } from '../gslb/from-config.ts';
import { FqdnSelector } from '../gslb/select.ts';
import type { SiteReport } from '../gslb/types.ts';
import { FqdnMeters } from '../metrics/dns-meters.ts';


interface Servers {
  readonly udp: DnsUdpServer;
  readonly tcp: DnsTcpServer;
}

interface KeptSelector {
  /** The FQDN as the selector was built from it: an unchanged FQDN keeps its selector (and its rotation). */
  readonly key: string;
  readonly selector: FqdnSelector;
}

export interface PendingDns {
  commit(): void;
  abort(): Promise<void>;
}

function addressKey(host: string, port: number): string {
  return `${host}|${port}`;
}

export class DnsRuntime {
  #answerer: DnsAnswerer | null = null;
  #servers = new Map<string, Servers>();
  /** Servers whose address left the config: TCP clients finish their queries. */
  readonly #retired = new Set<Servers>();
  #selectors = new Map<string, KeptSelector>();
  /** Per-FQDN DNS counters, handed to every engine so they outlive reloads. */
  readonly #meters = new FqdnMeters();
  /** Shut down: a config applied late (its binds were in flight) must not open servers again. */
  #closing = false;
  /** The latest report per FQDN and site, applied to selectors a later config builds. */
  readonly #reports = new Map<string, Map<string, SiteReport>>();

  /** Build the engine for `gslb` (undefined: no DNS) and bind its new addresses; nothing changes until commit(). */
  async prepare(gslb: GslbConfig | undefined, serial: number): Promise<PendingDns> {
    const selectors = new Map<string, KeptSelector>();
    for (const fqdn of gslb?.fqdns ?? []) {
      const model = toGslbFqdn(fqdn);
      const key = JSON.stringify(model);
      const kept = this.#selectors.get(fqdn.name);
      if (kept !== undefined && kept.key === key) {
        selectors.set(fqdn.name, kept);
        continue;
      }
      const known = this.#reports.get(fqdn.name);
      const selector = new FqdnSelector(model, fqdn.sites.map((site) => known?.get(site.name)?.up ?? startsUp(site)));
      for (const [index, site] of fqdn.sites.entries()) {
        const load = known?.get(site.name)?.load;
        if (load !== undefined && load !== null) selector.setLoad(index, load);
      }
      selectors.set(fqdn.name, { key, selector });
    }
    const engine =
      gslb === undefined
        ? null
        : new AuthorityEngine({
            zones: gslb.zones,
            fqdns: gslb.fqdns,
            selectors: new Map([...selectors].map(([name, kept]) => [name, kept.selector])),
            locations: locationTableOf(gslb),
            serial,
            meters: this.#meters,
          });
    const answerer = engine === null ? this.#answerer : (this.#answerer ?? new DnsAnswerer(engine, this.#meters));
    const opened = new Map<string, Servers>();
    try {
      for (const address of gslb?.listen ?? []) {
        const key = addressKey(address.host, address.port);
        if (this.#servers.has(key)) continue;
        const servers = { udp: new DnsUdpServer(address, answerer!), tcp: new DnsTcpServer(address, answerer!) };
        opened.set(key, servers);
        await servers.udp.listen();
        await servers.tcp.listen();
      }
    } catch (error) {
      await Promise.all([...opened.values()].map((s) => closeServers(s)));
      throw error;
    }
    return {
      commit: () => {
        if (this.#closing) {
          for (const servers of opened.values()) void closeServers(servers);
          return;
        }
        if (engine !== null) answerer!.engine = engine;
        this.#answerer = answerer;
        this.#selectors = selectors;
        // Reports that arrived while the addresses were binding found the old selectors only.
        for (const [fqdn, known] of this.#reports) this.#applyReports(fqdn, [...known.values()]);
        const wanted = new Set((gslb?.listen ?? []).map((a) => addressKey(a.host, a.port)));
        for (const [key, servers] of this.#servers) {
          if (wanted.has(key)) continue;
          this.#servers.delete(key);
          this.#retire(servers);
        }
        for (const [key, servers] of opened) this.#servers.set(key, servers);
      },
      abort: async () => {
        await Promise.all([...opened.values()].map((s) => closeServers(s)));
      },
    };
  }

  /** An FQDN's sites as the supervisor's checks see them now. */
  setSites(fqdn: string, sites: readonly SiteReport[]): void {
    let known = this.#reports.get(fqdn);
    if (known === undefined) {
      known = new Map();
      this.#reports.set(fqdn, known);
    }
    for (const site of sites) known.set(site.name, site);
    this.#applyReports(fqdn, sites);
  }

  #applyReports(fqdn: string, sites: readonly SiteReport[]): void {
    const selector = this.#selectors.get(fqdn)?.selector;
    if (selector === undefined) return;
    for (const site of sites) {
      const index = selector.siteIndex(site.name);
      if (index < 0) continue;
      selector.setUp(index, site.up);
      selector.setLoad(index, site.load);
    }
  }

  counters(): DnsCounters | null {
    return this.#answerer === null ? null : this.#answerer.counters();
  }

  get connectionCount(): number {
    let n = 0;
    for (const servers of [...this.#servers.values(), ...this.#retired]) n += servers.tcp.connectionCount;
    return n;
  }

  /** Shutdown: stop answering; TCP clients get the answers to what they have sent. */
  close(): Promise<void> {
    this.#closing = true;
    // Closing servers stay counted (connectionCount) and reachable (destroyAll) until closed.
    for (const servers of this.#servers.values()) this.#retired.add(servers);
    this.#servers.clear();
    return Promise.all([...this.#retired].map((servers) => closeServers(servers).then(() => this.#retired.delete(servers)))).then(() => {});
  }

  destroyAll(): void {
    for (const servers of [...this.#servers.values(), ...this.#retired]) servers.tcp.destroyAll();
  }

  #retire(servers: Servers): void {
    this.#retired.add(servers);
    void closeServers(servers).then(() => this.#retired.delete(servers));
  }
}

function closeServers(servers: Servers): Promise<void> {
  return Promise.all([servers.udp.close(), servers.tcp.close()]).then(() => {});
}

