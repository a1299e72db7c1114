/**
 * A WorkerRuntime in this process running one HTTP virtual service, built from the YAML a table
 * writes (its rules, access, rateLimit, trustedProxies and the names of its pools), with one
 * echo server per pool and a JSON access log in a temp file, read back line by line.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { parseConfig, type AccessLine } from '../l7/harness.ts';
import { cityRecord, writeMmdb } from '../helpers/mmdb-writer.ts';
import { freePort } from '../helpers/processes.ts';
import { startEchoServer, type EchoServer } from './echo-server.ts';

/** The virtual service's name; Fulcrum's own answers name it ("... (virtual service \"vs\")"). */
const SERVICE = 'vs';

export interface EngineOptions {
  /** Client networks and their countries (a GeoIP database written for the test). */
  geoip?: Record<string, string>;
}

export interface Engine {
  port: number;
  runtime: WorkerRuntime;
  /** The echo server of each pool, by pool name. */
  pools: Map<string, EchoServer>;
  /** Requests every real server received so far. */
  forwarded(): number;
  /** Access log lines so far; waits up to `waitMs` (2 s) for at least `atLeast`. */
  accessLog(atLeast?: number, waitMs?: number): Promise<AccessLine[]>;
  close(): Promise<void>;
}

/**
 * `tableYaml`: `pools:` a list of pool names (the first is the service's default unless it says
 * `pool:`), every other key a key of the HTTP virtual service.
 */
export async function startEngine(tableYaml: string, options: EngineOptions = {}): Promise<Engine> {
  const table = (parse(tableYaml) ?? {}) as Record<string, unknown>;
  const { pools: poolNames = ['main'], ...service } = table as { pools?: string[] };
  const dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-rules-e2e-'));
  const logPath = path.join(dir, 'access.log');
  const pools = new Map<string, EchoServer>();
  for (const name of poolNames) pools.set(name, await startEchoServer(name));
  const port = await freePort();
  const config: Record<string, unknown> = {
    workers: 1,
    accessLog: { path: logPath, format: 'json' },
    pools: poolNames.map((name) => ({ name, realServers: [{ address: pools.get(name)!.address }] })),
    virtualServices: [{ name: SERVICE, listen: `127.0.0.1:${port}`, protocol: 'http', pool: poolNames[0], ...service }],
  };
  if (options.geoip !== undefined) {
    const database = path.join(dir, 'countries.mmdb');
    const networks = Object.entries(options.geoip).map(([cidr, country]) => ({ cidr, data: cityRecord({ country }) }));
    await writeFile(database, writeMmdb(networks, { ipVersion: 6 }));
    config['geoipDatabase'] = database;
  }
  const runtime = new WorkerRuntime();
  try {
    await runtime.apply(parseConfig(stringify(config)));
  } catch (error) {
    // A config the test expects to be refused must not leave servers behind.
    await runtime.drain(0);
    await Promise.all([...pools.values()].map((p) => p.close()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    runtime,
    pools,
    forwarded: () => [...pools.values()].reduce((n, p) => n + p.received.length, 0),
    accessLog: (atLeast = 0, waitMs = 2000) => readAccessLog(logPath, atLeast, waitMs),
    close: async () => {
      await runtime.drain(0);
      await Promise.all([...pools.values()].map((p) => p.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function readAccessLog(logPath: string, atLeast: number, waitMs = 2000): Promise<AccessLine[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let text = '';
    try {
      text = await readFile(logPath, 'utf8');
    } catch {
      // not written yet
    }
    const lines = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AccessLine);
    if (lines.length >= atLeast || Date.now() > deadline) return lines;
    // The log is written once per event-loop turn: poll briefly.
    await new Promise((r) => setTimeout(r, 5));
  }
}
