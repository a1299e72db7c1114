/**
 * The web console's browser test bench: a real Fulcrum with its admin listener on loopback and a
 * first admin (FULCRUM_ADMIN_USER / FULCRUM_ADMIN_PASSWORD at first start), two small real
 * servers (node:http) that can hold requests open (for draining) and be stopped (for a down
 * server), and Debian's chromium driven by playwright-core, with a fresh profile per run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'correct horse battery staple';

/** A real server: `/slow` answers only when released; anything else answers at once with its name. */
export interface RealServer {
  name: string;
  address: string;
  /** Requests it answered or holds. */
  requests: number;
  /** `/slow` requests it holds now. */
  held(): number;
  /** Answer every held `/slow` request. */
  release(): void;
  /** Close the listener and every connection: health checks then get "connection refused". */
  stop(): Promise<void>;
}

export async function startRealServer(name: string): Promise<RealServer> {
  const sockets = new Set<Socket>();
  const holding: ServerResponse[] = [];
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (req.url === '/slow') {
      holding.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${name}\n`);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    name,
    address: `127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    held: () => holding.length,
    release: () => {
      for (const res of holding.splice(0)) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`${name} (slow)\n`);
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

export interface ConsoleBench {
  fulcrum: Fulcrum;
  adminUrl: string;
  /** Free loopback ports for the virtual service the test creates from the forms. */
  servicePort: number;
  servers: RealServer[];
  browser: BrowserContext;
  stop(): Promise<void>;
}

/** Fails with what to do when Debian's chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the console's browser test drives Debian's chromium; install it with: bash scripts/install-peers.sh`);
  }
}

export async function startConsoleBench(): Promise<ConsoleBench> {
  requireChromium();
  const servers = [await startRealServer('rs-1'), await startRealServer('rs-2')];
  const bootstrap = await startRealServer('bootstrap');
  const adminPort = await freePort();
  const bootstrapPort = await freePort();
  const servicePort = await freePort();
  // A config needs a virtual service to start; the test builds its own beside this one.
  const config = [
    'accessLog: off',
    'admin:',
    `  listen: 127.0.0.1:${adminPort}`,
    'virtualServices:',
    '  - name: bootstrap',
    `    listen: 127.0.0.1:${bootstrapPort}`,
    '    protocol: http',
    '    realServers:',
    `      - address: ${bootstrap.address}`,
    '',
  ].join('\n');
  const fulcrum = await startFulcrum({ config, env: { FULCRUM_ADMIN_USER: ADMIN_USER, FULCRUM_ADMIN_PASSWORD: ADMIN_PASSWORD }, readyTimeoutMs: 20_000 });
  const profile = await mkdtemp(path.join(tmpdir(), 'fulcrum-chromium-'));
  let browser: BrowserContext;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1366, height: 768 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (error) {
    await fulcrum.stop();
    await Promise.all([...servers, bootstrap].map((s) => s.stop()));
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    fulcrum,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    servicePort,
    servers,
    browser,
    async stop() {
      for (const s of servers) s.release();
      await browser.close().catch(() => {});
      await fulcrum.stop().catch(() => {});
      await Promise.all([...servers, bootstrap].map((s) => s.stop()));
      await rm(profile, { recursive: true, force: true });
    },
  };
}
