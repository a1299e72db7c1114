// HAProxy's agent-check reply: words separated by commas, spaces or tabs, case-insensitive, with
// HAProxy's semantics; words not sent leave their part of the state unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyAgentReply, parseAgentReply } from '../../src/agent/agent-reply.ts';
import { NEUTRAL_VERDICT, type AgentVerdict } from '../../src/agent/types.ts';

/** The verdict after `replies` in turn, from neutral, for a server of weight 100. */
function after(...replies: string[]): AgentVerdict {
  let verdict: AgentVerdict = { ...NEUTRAL_VERDICT };
  for (const reply of replies) verdict = applyAgentReply(verdict, parseAgentReply(reply), 100).verdict ?? verdict;
  return verdict;
}

describe('HAProxy agent-check reply', () => {
  it('reads every keyword', () => {
    const cases: Array<[string, Partial<AgentVerdict>]> = [
      ['75%\n', { weightPercent: 75 }],
      ['0%\n', { weightPercent: 0 }],
      ['150%\n', { weightPercent: 150 }],
      ['drain\n', { admin: 'drain' }],
      ['maint\n', { admin: 'maint' }],
      ['ready\n', { admin: 'ready' }],
      ['down\n', { operational: 'down' }],
      ['fail\n', { operational: 'down' }],
      ['stopped\n', { operational: 'down' }],
      ['up\n', { operational: 'up' }],
    ];
    for (const [reply, change] of cases) assert.deepEqual(after(reply), { ...NEUTRAL_VERDICT, ...change }, reply);
  });

  it("reads HAProxy's own reg-test reply: weight, maxconn, admin and health words together", () => {
    const reply = parseAgentReply('75%,maxconn:30,maint,down\n');
    assert.deepEqual(reply, { weightPercent: 75, health: 'down', admin: 'maint', maxconn: 30, description: null, unknown: [] });
    const result = applyAgentReply(NEUTRAL_VERDICT, reply, 100);
    assert.deepEqual(result.verdict, { load: null, weightPercent: 75, operational: 'down', admin: 'maint' });
    assert.match(result.reason, /agent says weight 75%, maint, down; maxconn:30 ignored/);
  });

  it('splits on commas, spaces and tabs, ignores case, and ends the line at CR or LF', () => {
    assert.deepEqual(parseAgentReply('UP 50%\tDRAIN\r\nmaint\n'), { weightPercent: 50, health: 'up', admin: 'drain', maxconn: null, description: null, unknown: [] });
    assert.deepEqual(parseAgentReply(' , ready,, 20% ,'), { weightPercent: 20, health: null, admin: 'ready', maxconn: null, description: null, unknown: [] });
  });

  it('keeps the description after # and shows it in the reason', () => {
    const reply = parseAgentReply('stopped#disk full, back at 14:00\n');
    assert.equal(reply.health, 'stopped');
    assert.equal(reply.description, 'disk full, back at 14:00');
    assert.match(applyAgentReply(NEUTRAL_VERDICT, reply, 100).reason, /stopped \(disk full, back at 14:00\)/);
  });

  it('the last word of a kind wins', () => {
    assert.deepEqual(after('down up 10% 30%'), { ...NEUTRAL_VERDICT, weightPercent: 30 });
  });

  it('words not sent are not changed: only the agent undoes what it set', () => {
    assert.deepEqual(after('drain', '50%'), { ...NEUTRAL_VERDICT, weightPercent: 50, admin: 'drain' });
    assert.deepEqual(after('drain', '50%', 'ready'), { ...NEUTRAL_VERDICT, weightPercent: 50 });
    assert.deepEqual(after('down', '80%'), { ...NEUTRAL_VERDICT, weightPercent: 80, operational: 'down' });
    assert.deepEqual(after('down', '80%', 'up'), { ...NEUTRAL_VERDICT, weightPercent: 80 });
    assert.deepEqual(after('maint', 'up'), { ...NEUTRAL_VERDICT, admin: 'maint' });
  });

  it('applies what it understands and names the rest', () => {
    const result = applyAgentReply(NEUTRAL_VERDICT, parseAgentReply('60% sleepy 7.5%'), 100);
    assert.equal(result.verdict?.weightPercent, 60);
    assert.match(result.reason, /not understood: "sleepy", "7.5%"/);
  });

  it('a reply with nothing usable changes nothing and says why', () => {
    for (const [reply, reason] of [
      ['', /the reply is empty/],
      ['\n', /the reply is empty/],
      ['hello world', /not understood: "hello", "world"; an agent-check reply holds a weight such as 75%/],
      ['75', /not understood: "75"/],
    ] as const) {
      const result = applyAgentReply(NEUTRAL_VERDICT, parseAgentReply(reply), 100);
      assert.equal(result.verdict, null, reply);
      assert.match(result.reason, reason, reply);
    }
  });

  it('maxconn alone is a valid reply that changes nothing', () => {
    const result = applyAgentReply({ ...NEUTRAL_VERDICT, weightPercent: 40 }, parseAgentReply('maxconn:10'), 100);
    assert.deepEqual(result.verdict, { ...NEUTRAL_VERDICT, weightPercent: 40 });
    assert.match(result.reason, /maxconn:10 ignored/);
  });

  it('refuses a weight past the largest one, as HAProxy does', () => {
    const result = applyAgentReply({ ...NEUTRAL_VERDICT, weightPercent: 40 }, parseAgentReply('70000%'), 100);
    assert.equal(result.verdict, null);
    assert.match(result.reason, /70000% ignored: 100 x 70000% is above the largest weight, 65535/);
    assert.equal(applyAgentReply(NEUTRAL_VERDICT, parseAgentReply('200%'), 40_000).verdict, null);
    assert.equal(applyAgentReply(NEUTRAL_VERDICT, parseAgentReply('200%'), 30_000).verdict?.weightPercent, 200);
  });
});
