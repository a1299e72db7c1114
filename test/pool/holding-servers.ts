/**
 * Slow real servers: every request is held until the test lets it go by its path, so a test
 * decides when a slot frees. They note the order requests arrive in, across all of them.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Arrival {
  server: string;
  path: string;
}

export interface HoldingServers {
  addresses: string[];
  /** Every request that reached a server, in order. */
  arrivals: Arrival[];
  /** Answer the held request for `path` (its server's name as body). */
  release(path: string): void;
  /** Resolves once a request for `path` has arrived. */
  arrived(path: string): Promise<Arrival>;
  close(): Promise<void>;
}

export async function holdingServers(names: readonly string[]): Promise<HoldingServers> {
  const arrivals: Arrival[] = [];
  const held = new Map<string, () => void>();
  const waiters = new Map<string, (a: Arrival) => void>();
  const servers: http.Server[] = [];
  const addresses: string[] = [];
  for (const name of names) {
    const server = http.createServer((req, res) => {
      const arrival = { server: name, path: req.url ?? '' };
      arrivals.push(arrival);
      held.set(arrival.path, () => res.end(name));
      waiters.get(arrival.path)?.(arrival);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    addresses.push(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return {
    addresses,
    arrivals,
    release: (path) => {
      const answer = held.get(path);
      if (answer === undefined) throw new Error(`no request for ${path} is held; arrived: ${arrivals.map((a) => a.path).join(', ')}`);
      held.delete(path);
      answer();
    },
    arrived: (path) => {
      const found = arrivals.find((a) => a.path === path);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.set(path, resolve));
    },
    close: async () => {
      for (const answer of held.values()) answer();
      await Promise.all(
        servers.map((s) => {
          s.closeAllConnections();
          return new Promise<void>((resolve) => s.close(() => resolve()));
        }),
      );
    },
  };
}
