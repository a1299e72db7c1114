/**
 * The pick path's script, run the same way through every front end: a pool config per scheduler
 * and persistence type, the pools and front ends built as the runtime builds them, and one
 * sequence of picks that checks each promise of the pick path as it goes and returns every
 * choice, so that runs through different front ends can be compared.
 */
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { VirtualService } from '../../src/frontend/virtual-service.ts';
import { PROTOCOL_OFFERS, type FrontEndProtocol, type MethodNeed } from '../../src/pool/needs.ts';
import type { Pool } from '../../src/pool/pool.ts';
import { PoolSet } from '../../src/pool/pool-set.ts';
import type { RealServer } from '../../src/pool/real-server.ts';
import { FULL, type PickResult } from '../../src/pool/types.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { seededRandom } from '../scheduling/helpers.ts';
import { Client, type Ask } from './engine-asks.ts';
import { serviceLines } from '../config/yaml-config.ts';

export const T0 = 1_700_000_000_000;
export const SORRY = '127.0.0.1:9099';
const REQUIRED_KEYS: Record<string, string> = { 'server-cookie': ', cookieName: JSESSIONID', header: ', headerName: X-Session', 'query-item': ', queryItem: sid' };
export const PROTOCOLS = Object.keys(PROTOCOL_OFFERS) as FrontEndProtocol[];

export function canFeed(protocol: FrontEndProtocol, needs: readonly MethodNeed[]): boolean {
  return needs.every((need) => PROTOCOL_OFFERS[protocol].includes(need));
}

/** One pool named "pick" with three servers that take traffic and one disabled, two slots each, and a sorry server; a virtual service per protocol. */
export function comboConfig(scheduler: string, persistence: string | null, protocols: readonly FrontEndProtocol[]): Config {
  const text = [
    'pools:',
    '  - name: pick',
    `    scheduler: ${scheduler}`,
    ...(scheduler === 'adaptive' ? ['    adaptive: { type: http, port: 8082 }'] : []),
    ...(persistence === null ? [] : [`    persistence: { type: ${persistence}${REQUIRED_KEYS[persistence] ?? ''} }`]),
    `    sorryServer: ${SORRY}`,
    '    realServers:',
    '      - { address: 127.0.0.1:9001, weight: 100, maxConnections: 2 }',
    '      - { address: 127.0.0.1:9002, weight: 200, maxConnections: 2 }',
    '      - { address: 127.0.0.1:9003, weight: 300, maxConnections: 2 }',
    '      - { address: 127.0.0.1:9004, weight: 100, maxConnections: 2, state: disabled }',
    'virtualServices:',
    ...protocols.flatMap((protocol, i) => serviceLines(protocol, `${protocol}-front`, 8080 + i, ['pool: pick'])),
  ].join('\n');
  const loaded = loadConfigText(text, 'pick.yaml');
  assert.ok(loaded.ok, `${text}\n${JSON.stringify(!loaded.ok && loaded.problems, null, 2)}`);
  return loaded.config;
}

/** The front ends over one PoolSet, as the runtime builds them for a config. */
export function frontEnds(config: Config): { pools: PoolSet; services: VirtualService[] } {
  const pools = PoolSet.build(config.pools, null, () => {}, T0);
  const ctx = new EngineContext();
  return { pools, services: config.virtualServices.map((vs) => new VirtualService(vs, pools, ctx)) };
}

export function label(result: PickResult): string {
  return result === null ? 'none' : result === FULL ? 'FULL' : result.id;
}

export function real(result: PickResult, what: string): RealServer {
  assert.ok(result !== null && result !== FULL && result.index >= 0, `${what}: expected a real server, got ${label(result)}`);
  return result;
}

/** Math.random from a fixed seed while `run` runs (random-two-choices draws from it). */
export function seeded<T>(seed: number, run: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed);
  try {
    return run();
  } finally {
    Math.random = original;
  }
}

/**
 * The script: every promise of the pick path, checked as it goes; returns every choice made, in
 * order, so that runs through different front ends can be compared.
 */
export function script(pool: Pool, ask: Ask, persisted: boolean): string[] {
  const seen: string[] = [];
  let now = T0;
  const pick = (client: Client, exclude: readonly RealServer[] | null = null): PickResult => {
    const result = ask(pool, client, exclude, (now += 10));
    seen.push(label(result));
    return result;
  };
  const available = pool.servers.filter((s) => s.available);
  assert.deepEqual(available.map((s) => s.id), ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
  const inflight = (): number[] => pool.servers.map((s) => s.inflight);

  // Only servers that take traffic; each request taken and released.
  for (let n = 0; n < 30; n++) {
    const server = real(pick(new Client(n)), `client ${n}`);
    assert.ok(available.includes(server), `picked ${server.id}, which takes no traffic`);
    pool.take(server);
    pool.release(server);
  }
  assert.deepEqual(inflight(), [0, 0, 0, 0]);

  // A retry never goes back to a server it tried; with every one tried, nothing (not the sorry server).
  for (const tried of available) {
    const server = real(pick(new Client(50), [tried]), `retry after ${tried.id}`);
    assert.notEqual(server, tried);
  }
  assert.equal(pick(new Client(51), available), null);

  // take and release keep each server's in-flight count exact.
  const requestsBefore = pool.servers.map((s) => s.requests);
  const taken: RealServer[] = [];
  for (let n = 100; n < 105; n++) {
    const server = real(pick(new Client(n)), `client ${n}`);
    pool.take(server);
    taken.push(server);
  }
  assert.deepEqual(inflight(), pool.servers.map((s) => taken.filter((t) => t === s).length));
  assert.deepEqual(pool.servers.map((s, i) => s.requests - requestsBefore[i]!), inflight());
  for (const server of taken) pool.release(server);
  assert.deepEqual(inflight(), [0, 0, 0, 0]);

  // A server at maxConnections (2) is skipped; FULL when every one is.
  const held: RealServer[] = [];
  for (let n = 200; held.length <= 6; n++) {
    const result = pick(new Client(n));
    if (result === FULL) break;
    const server = real(result, `client ${n}`);
    assert.ok(server.inflight < 2, `${server.id} picked at its maxConnections`);
    pool.take(server);
    held.push(server);
  }
  assert.equal(held.length, 6, 'six slots, then FULL');
  assert.deepEqual(inflight(), [2, 2, 2, 0]);
  const freed = available[1]!;
  held.splice(held.indexOf(freed), 1);
  pool.release(freed);
  assert.equal(pick(new Client(300), [freed]), FULL, 'a retry that may not use the one free server finds every other full');
  const next = real(pick(new Client(301)), 'the freed slot');
  assert.equal(next, freed, 'the one server with a free slot takes the next');
  pool.take(next);
  held.push(next);
  for (const server of held) pool.release(server);
  assert.deepEqual(inflight(), [0, 0, 0, 0]);

  // Persistence keeps a client on its server, whoever comes between.
  const regular = new Client(400);
  const home = real(pick(regular), 'the regular client');
  if (persisted) {
    for (let n = 401; n < 411; n++) {
      real(pick(new Client(n)), `client ${n}`);
      assert.equal(real(pick(regular), 'the regular client again'), home, 'persisted to its first server');
    }
  }

  // Nothing available: the sorry server, on a first attempt only, and nobody is persisted to it.
  for (const server of available) pool.setHealth(server.id, false, 'test: down', now);
  const stranded = new Client(500);
  const sorry = pick(stranded);
  assert.ok(sorry !== null && sorry !== FULL && sorry.index === -1 && sorry.id === SORRY, `expected the sorry server, got ${label(sorry)}`);
  assert.equal(pick(stranded, [available[0]!]), null, 'no sorry server on a retry');
  assert.equal(label(pick(regular)), SORRY);
  for (const server of available) pool.setHealth(server.id, true, 'test: up', now);
  assert.ok(available.includes(real(pick(stranded), 'back from the sorry server')));
  return seen;
}
