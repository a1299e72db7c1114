// Fulcrum's content rules against HAProxy's ACLs, request by request. One rule set, written once
// for Fulcrum (rules-fulcrum.ts: examples/surveyor.yaml's rules and twenty more) and once by hand
// for HAProxy 2.6 (rules-haproxy.ts), both in front of the same echo servers; thousands of
// generated requests (rules-requests.ts) go to both from the same client address over keep-alive
// connections, and every answer is compared (rules-compare.ts): the status, the pool, Location,
// what the real server got (target and rule-edited headers) and the rule-edited response headers.
//
// RULES_DIFF_REQUESTS sets the number of requests (default 3000), RULES_DIFF_SEED the seed (a
// failing run prints the seed; the same seed sends the same requests).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { freePort, startProcess, teardown, waitForPort, type ManagedProcess } from '../test/helpers/processes.ts';
import { startEchoPools, type EchoPools } from './echo-pools.ts';
import { peer, requirePeers } from './peers.ts';
import { RawHttpClient } from './raw-http.ts';
import { classKey, differences, DivergenceReport, observe, type Difference } from './rules-compare.ts';
import { fulcrumConfig, POOLS, RULES_YAML } from './rules-fulcrum.ts';
import { haproxyConfig, RULE_NAMES } from './rules-haproxy.ts';
import { CLIENTS, generateRequests, requestBytes, type GeneratedRequest } from './rules-requests.ts';
import { shrink } from './rules-shrink.ts';

const REQUESTS = Number(process.env['RULES_DIFF_REQUESTS'] ?? 3000);
const SEED = Number(process.env['RULES_DIFF_SEED'] ?? 20_240_611);
/** Requests in flight at once per product; each lane has its own keep-alive connections. */
const LANES = 16;

interface Clients {
  fulcrum: RawHttpClient;
  haproxy: RawHttpClient;
}

/** Sends `request` to both (same client address, concurrently); what differs, and the rule HAProxy applied. */
async function compareOnce(request: GeneratedRequest, clients: Clients): Promise<{ found: Difference[]; rule: string; answer: string }> {
  const bytes = requestBytes(request);
  const isHead = request.method === 'HEAD';
  const [fromFulcrum, fromHaproxy] = await Promise.all([clients.fulcrum.send(request.client, bytes, isHead), clients.haproxy.send(request.client, bytes, isHead)]);
  const f = observe(fromFulcrum);
  const h = observe(fromHaproxy);
  const answer = `${h.observation.answer}${h.observation.pool === null ? '' : ` from ${h.observation.pool}`}`;
  return { found: differences(f.observation, h.observation), rule: h.rule, answer };
}

describe('content rules: Fulcrum against HAProxy ACLs on generated requests', () => {
  let pools: EchoPools | undefined;
  let fulcrum: Fulcrum | undefined;
  let haproxy: ManagedProcess | undefined;
  let workDir = '';
  let fulcrumPort = 0;
  let haproxyPort = 0;

  before(async () => {
    requirePeers('haproxy');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-rules-'));
    pools = await startEchoPools(POOLS);
    fulcrumPort = await freePort();
    haproxyPort = await freePort();
    const haproxyFile = path.join(workDir, 'haproxy.cfg');
    await writeFile(haproxyFile, haproxyConfig(haproxyPort, pools.addresses));
    // -db: in the foreground, no daemon; the process is ours to stop.
    haproxy = startProcess('haproxy', peer('haproxy'), ['-db', '-f', haproxyFile]);
    await waitForPort(haproxyPort, { proc: haproxy });
    fulcrum = await startFulcrum({ config: fulcrumConfig(fulcrumPort, pools.addresses) });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => haproxy?.stop(),
      () => pools?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  it('has the same rules, in the same order, in both configs', () => {
    const names = (parse(RULES_YAML) as Array<{ name: string }>).map((rule) => rule.name);
    assert.deepEqual(names, [...RULE_NAMES]);
  });

  it(`answers ${REQUESTS} generated requests as HAProxy does`, { timeout: 120_000 }, async (t) => {
    const requests = generateRequests(SEED, REQUESTS);
    const report = new DivergenceReport();
    const hits = new Map<string, number>(RULE_NAMES.map((name) => [name, 0]));
    hits.set('none', 0);
    const answers = new Map<string, number>();
    const started = Date.now();

    const connect = (): Clients => ({ fulcrum: new RawHttpClient('127.0.0.1', fulcrumPort), haproxy: new RawHttpClient('127.0.0.1', haproxyPort) });
    const close = (clients: Clients): void => {
      clients.fulcrum.close();
      clients.haproxy.close();
    };
    const opened = { fulcrum: 0, haproxy: 0 };
    const runLane = async (lane: GeneratedRequest[]): Promise<void> => {
      const clients = connect();
      try {
        for (const request of lane) {
          const { found, rule, answer } = await compareOnce(request, clients);
          hits.set(rule, (hits.get(rule) ?? 0) + 1);
          answers.set(answer, (answers.get(answer) ?? 0) + 1);
          report.add(request, found, rule);
        }
      } finally {
        opened.fulcrum += clients.fulcrum.opened;
        opened.haproxy += clients.haproxy.opened;
        close(clients);
      }
    };
    const lanes = Array.from({ length: LANES }, (_, lane) => requests.filter((r) => r.index % LANES === lane));
    await Promise.all(lanes.map(runLane));
    const sent = Date.now();

    // Each class's example, cut down to the fields its divergence needs.
    const clients = connect();
    try {
      for (const divergence of report.classes) {
        divergence.example = await shrink(divergence.example, async (candidate) => {
          const { found, rule } = await compareOnce(candidate, clients);
          return found.length > 0 && classKey(found, rule) === divergence.key;
        });
        divergence.differences = (await compareOnce(divergence.example, clients)).found;
      }
    } finally {
      close(clients);
    }

    t.diagnostic(`${REQUESTS} requests (seed ${SEED}) from ${CLIENTS.join(', ')} in ${sent - started} ms, to each of Fulcrum and HAProxy; ${report.classes.length} divergence classes shrunk in ${Date.now() - sent} ms`);
    t.diagnostic(`client connections opened: ${opened.fulcrum} to Fulcrum, ${opened.haproxy} to HAProxy`);
    t.diagnostic(`answers, by HAProxy: ${[...answers].sort((a, b) => b[1] - a[1]).map(([answer, n]) => `${answer}: ${n}`).join(', ')}`);
    t.diagnostic(`first matching rule, by HAProxy: ${[...hits].map(([name, n]) => `${name} ${n}`).join(', ')}`);
    // The vocabularies are meant to reach every rule: a rule no request matched is not tested.
    // Except no-admin-from-outside, for clients outside 127.0.0.0/8 and 10.0.0.0/8: the test's
    // clients are all loopback addresses, so every /admin request is one of its near-misses.
    if (REQUESTS >= 1000) {
      const unreached = [...hits].filter(([name, n]) => name !== 'no-admin-from-outside' && n === 0).map(([name]) => name);
      assert.deepEqual(unreached, [], 'rules no generated request reached (widen the vocabularies in rules-requests.ts)');
    }
    assert.equal(report.total, 0, `seed ${SEED}: ${report.format()}`);
  });
});
