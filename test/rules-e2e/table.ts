/**
 * Declarative rule tables, in the spirit of HAProxy's reg-tests: a virtual service's config,
 * requests, and what each must get. Every table runs against a real WorkerRuntime with one echo
 * server per pool; every request is a subtest, in order, on its own connection from its own
 * client address; each expectation is checked on the wire (status, headers, what the real server
 * received) and in the access log (pool, rule, termination, client).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessLine } from '../l7/harness.ts';
import { send, type Reply, type TableRequest } from './client.ts';
import type { Echo } from './echo-server.ts';
import { startEngine, type Engine, type EngineOptions } from './engine.ts';

export type { TableRequest } from './client.ts';

export interface Expectation {
  /** Forwarded to this pool's real server, which answered 200; the access log names the pool. */
  pool?: string;
  /** The status the client got (default 200 with `pool`). */
  status?: number;
  location?: string;
  /** The body of Fulcrum's own answer: exact text, or a pattern. */
  body?: string | RegExp;
  /** Header values (names lower case; a pattern, or null for absent): as the client got them, and as the real server got them. */
  headers?: { response?: Record<string, string | RegExp | null>; upstream?: Record<string, string | null> };
  /** The request target the real server got. */
  upstreamPath?: string;
  upstreamMethod?: string;
  upstreamBody?: string;
  /** The rule named in the access log; '' (the default) when no rule decided. */
  rule?: string;
  /** The access log's termination: default ok when forwarded, required otherwise. */
  termination?: string;
  /** The access log's client (after trusted proxies). */
  client?: string;
  /** The access log's error (the internal detail: which limit, which list). */
  error?: RegExp;
  /** The connection was closed after the answer. */
  closed?: boolean;
  /** A refusal that may come after the head reached a real server (a body streamed past its limit). */
  afterHeadForwarded?: boolean;
  /** Marks a row that shows a known bug: `todo: 'bug: ...'`. */
  todo?: string;
}

export interface RuleTable {
  name: string;
  /** `pools:` a list of pool names (the first is the default), then the virtual service's keys. */
  config: string;
  requests: TableRequest[];
  expect: Expectation[];
  options?: EngineOptions;
}

function describeRequest(req: TableRequest): string {
  const from = req.clientAddress === undefined ? '' : ` from ${req.clientAddress}`;
  return `${req.method ?? 'GET'} ${req.host ?? 'www.example.com'}${req.path}${from}`;
}

function describeExpectation(exp: Expectation): string {
  if (exp.pool !== undefined) return `→ ${exp.pool}${exp.upstreamPath === undefined ? '' : ` ${exp.upstreamPath}`}`;
  return `→ ${exp.status} ${exp.termination}`;
}

/** Registers one describe per table, one subtest per request. */
export function ruleTables(tables: readonly RuleTable[]): void {
  for (const table of tables) {
    assert.equal(table.requests.length, table.expect.length, `${table.name}: one expectation per request`);
    table.expect.forEach((exp, i) => {
      const complete = exp.pool !== undefined || (exp.status !== undefined && exp.termination !== undefined);
      assert.ok(complete, `${table.name} #${i + 1}: expect a pool, or Fulcrum's own answer (status and termination)`);
    });
    describe(table.name, { timeout: 30_000 }, () => {
      let engine: Engine;
      const log = { lines: 0 };
      before(async () => {
        engine = await startEngine(table.config, table.options);
      });
      after(async () => {
        await engine.close();
      });
      table.requests.forEach((req, i) => {
        const exp = table.expect[i]!;
        const title = `#${i + 1} ${describeRequest(req)} ${describeExpectation(exp)}`;
        it(title, exp.todo === undefined ? {} : { todo: exp.todo }, () => runRow(engine, log, req, exp));
      });
    });
  }
}

/** Send one row's request on its own connection and check everything it expects. */
async function runRow(engine: Engine, log: { lines: number }, req: TableRequest, exp: Expectation): Promise<void> {
  const forwardedBefore = engine.forwarded();
  const receivedBefore = new Map([...engine.pools].map(([name, pool]) => [name, pool.received.length]));
  const from = log.lines;
  let reply: Reply;
  let lines: AccessLine[];
  try {
    reply = await send(engine.port, req);
  } finally {
    // Whatever happened, the next row reads its own line.
    lines = await engine.accessLog(from + 1);
    log.lines = lines.length;
  }
  const { response, closed } = reply;
  assert.equal(lines.length, from + 1, `one access log line per request; have ${JSON.stringify(lines.slice(from))}`);
  checkAnswer(exp, response.status, response.headers, response.body.toString('utf8'), closed);
  checkLog(exp, lines[from]!, response.status);
  if (exp.pool === undefined) {
    if (!exp.afterHeadForwarded) assert.equal(engine.forwarded(), forwardedBefore, 'no request reached a real server');
    return;
  }
  assert.equal(engine.forwarded(), forwardedBefore + 1, 'exactly one request reached a real server');
  const pool = engine.pools.get(exp.pool);
  assert.ok(pool !== undefined, `the table has no pool ${exp.pool}`);
  assert.equal(pool.received.length, receivedBefore.get(exp.pool)! + 1, `the real server of pool ${exp.pool} got it`);
  // A HEAD answer has no body to name its pool; the count above does.
  if (req.method !== 'HEAD') assert.equal((JSON.parse(response.body.toString('utf8')) as Echo).pool, exp.pool, 'the answer came from that pool');
  checkUpstream(exp, pool.received.at(-1)!);
}

function checkAnswer(exp: Expectation, status: number, headers: Record<string, string>, body: string, closed: boolean): void {
  assert.equal(status, exp.status ?? 200, `status (body: ${JSON.stringify(body.slice(0, 300))})`);
  if (exp.location !== undefined) assert.equal(headers['location'], exp.location, 'Location');
  for (const [name, value] of Object.entries(exp.headers?.response ?? {})) {
    if (value instanceof RegExp) assert.match(headers[name] ?? '(absent)', value, `response header ${name}`);
    else assert.equal(headers[name] ?? null, value, `response header ${name}`);
  }
  if (typeof exp.body === 'string') assert.equal(body, exp.body, 'body');
  else if (exp.body !== undefined) assert.match(body, exp.body, 'body');
  if (exp.closed !== undefined) assert.equal(closed, exp.closed, exp.closed ? 'the connection was closed' : 'the connection stayed open');
}

function checkLog(exp: Expectation, line: AccessLine, status: number): void {
  assert.equal(line.status, status, 'access log status');
  assert.equal(line.rule ?? '', exp.rule ?? '', 'access log rule');
  assert.equal(line.termination, exp.termination ?? 'ok', `access log termination (error: ${line.error ?? ''})`);
  if (exp.pool !== undefined) assert.equal(line.pool, exp.pool, 'access log pool');
  if (exp.client !== undefined) assert.equal(line.client, exp.client, 'access log client');
  if (exp.error !== undefined) assert.match(line.error ?? '', exp.error, 'access log error');
}

function checkUpstream(exp: Expectation, echo: Echo): void {
  if (exp.upstreamPath !== undefined) assert.equal(echo.target, exp.upstreamPath, 'the target the real server got');
  if (exp.upstreamMethod !== undefined) assert.equal(echo.method, exp.upstreamMethod, 'the method the real server got');
  if (exp.upstreamBody !== undefined) assert.equal(echo.body, exp.upstreamBody, 'the body the real server got');
  for (const [name, value] of Object.entries(exp.headers?.upstream ?? {})) {
    const values = echo.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    assert.equal(values.length === 0 ? null : values.join(', '), value, `request header ${name} at the real server`);
  }
}
