// The `adaptive` key as users write it: the example, defaults, and the problems a config
// load reports with their line (scheduler adaptive and adaptive need each other).
import type { HttpServiceConfig } from '../../src/config/schema.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import { withPool } from '../helpers/service.ts';

/** A virtual service with `lines` from line 5 (after name, listen, protocol). */
function load(lines: string[]) {
  return loadConfigText(['virtualServices:', '  - name: ntrip-web', '    listen: 127.0.0.1:8080', '    protocol: http', ...lines, '    realServers: [{ address: 127.0.0.1:9001 }]'].join('\n'), 'fulcrum.yaml');
}

function problems(lines: string[]): ConfigProblem[] {
  const result = load(lines);
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems;
}

describe('adaptive config', () => {
  it("loads the issue's example as written", () => {
    const result = load(['    scheduler: adaptive', '    adaptive: { type: http, path: /load, port: 8082, interval: 5s, minLoad: 5 }']);
    assert.ok(result.ok, JSON.stringify(result));
    const vs = withPool(result.config, result.config.virtualServices[0])!;
    assert.ok(vs.protocol === 'http');
    assert.equal(vs.scheduler, 'adaptive');
    assert.deepEqual(vs.adaptive, { type: 'http', path: '/load', host: null, port: 8082, interval: 5000, timeout: 2000, minLoad: 5 });
  });

  it("defaults to the LoadMaster's agent: GET /load on the server's port every 5s, minLoad 5", () => {
    const result = load(['    scheduler: adaptive', '    adaptive: {}']);
    assert.ok(result.ok);
    assert.deepEqual(result.config.pools[0]!.adaptive, { type: 'http', path: '/load', host: null, port: null, interval: 5000, timeout: 2000, minLoad: 5 });
  });

  it('an agent-check needs only a port; a short interval shortens the default timeout', () => {
    const result = load(['    scheduler: adaptive', '    adaptive: { type: agent, port: 8082, interval: 1s }']);
    assert.ok(result.ok);
    assert.deepEqual(result.config.pools[0]!.adaptive, { type: 'agent', path: null, host: null, port: 8082, interval: 1000, timeout: 500, minLoad: null });
  });

  it('scheduler adaptive without adaptive is a problem at the scheduler line', () => {
    const [problem, ...rest] = problems(['    scheduler: adaptive']);
    assert.equal(rest.length, 0);
    assert.equal(problem!.line, 5);
    assert.equal(problem!.path, 'virtualServices[0].scheduler');
    assert.match(problem!.message, /^scheduler adaptive needs an adaptive block that says how to read each real server's load, e\.g\. adaptive: \{ type: http, path: \/load, port: 8082 \}/);
  });

  it('adaptive without scheduler adaptive is a problem at the adaptive line', () => {
    // The line of the value: the flow mapping's, or a block mapping's first key.
    for (const [lines, method, line] of [
      [['    adaptive: { type: http }'], 'round-robin', 5],
      [['    scheduler: weighted-round-robin', '    adaptive:', '      type: agent', '      port: 8082'], 'weighted-round-robin', 7],
    ] as const) {
      const [problem, ...rest] = problems([...lines]);
      assert.equal(rest.length, 0);
      assert.equal(problem!.path, 'virtualServices[0].adaptive');
      assert.equal(problem!.line, line);
      assert.equal(problem!.message, `adaptive applies to scheduler: adaptive only, and this virtual service uses ${method}; set scheduler: adaptive, or remove adaptive`);
    }
  });

  it('an agent-check needs its port, as HAProxy\'s agent-port', () => {
    const [problem, ...rest] = problems(['    scheduler: adaptive', '    adaptive: { type: agent }']);
    assert.equal(rest.length, 0);
    assert.equal(problem!.path, 'virtualServices[0].adaptive.type');
    assert.match(problem!.message, /^adaptive type agent needs port, the TCP port the agent-check answers on \(it is never the traffic port\), e\.g\. port: 8082$/);
  });

  it('keys for the LoadMaster agent are refused on an agent-check, each at its position', () => {
    const found = problems(['    scheduler: adaptive', '    adaptive:', '      type: agent', '      port: 8082', '      path: /load', '      host: www.example.com', '      minLoad: 10']);
    assert.deepEqual(
      found.map((p) => [p.line, p.path]),
      [
        [9, 'virtualServices[0].adaptive.path'],
        [10, 'virtualServices[0].adaptive.host'],
        [11, 'virtualServices[0].adaptive.minLoad'],
      ],
    );
    assert.match(found[0]!.message, /^path applies to adaptive type http only \(the LoadMaster agent\)/);
    assert.match(found[2]!.message, /reports weights such as 75%, not loads/);
  });

  it('timeout must be shorter than interval; unknown keys and bad values are named', () => {
    const [timeout] = problems(['    scheduler: adaptive', '    adaptive:', '      interval: 2s', '      timeout: 2s']);
    assert.equal(timeout!.line, 8);
    assert.match(timeout!.message, /^timeout 2s must be shorter than interval 2s/);
    const [unknown] = problems(['    scheduler: adaptive', '    adaptive: { type: http, minload: 5 }']);
    assert.equal(unknown!.message, 'unknown key');
    assert.equal(unknown!.suggestion, 'minLoad');
    const [type] = problems(['    scheduler: adaptive', '    adaptive: { type: loadmaster }']);
    assert.match(type!.message, /"loadmaster" is not an adaptive agent type/);
    const [minLoad] = problems(['    scheduler: adaptive', '    adaptive: { minLoad: 101 }']);
    assert.match(minLoad!.message, /101 is too large; the maximum is 100/);
  });
});
