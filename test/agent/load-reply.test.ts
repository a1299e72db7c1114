// KEMP LoadMaster's adaptive agent: the first body line of GET /load is a load 0-100; 101 down,
// 102 administratively disabled; anything else is not understood and changes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLoadReading, parseLoadReply } from '../../src/agent/load-reply.ts';
import { NEUTRAL_VERDICT, type AgentVerdict } from '../../src/agent/types.ts';

describe('LoadMaster load reply', () => {
  it('reads 0 to 100 as a load, from the first line only, blanks and CRLF aside', () => {
    for (const [body, load] of [
      ['0', 0],
      ['100', 100],
      ['42\n', 42],
      ['  7 \r\n', 7],
      ['55\nsecond line 99\n', 55],
      ['\uFEFF30\n', 30],
      ['007', 7],
    ] as const) {
      assert.deepEqual(parseLoadReply(body), { kind: 'load', load }, JSON.stringify(body));
    }
  });

  it('reads 101 as down and 102 as administratively disabled', () => {
    assert.deepEqual(parseLoadReply('101\n'), { kind: 'down' });
    assert.deepEqual(parseLoadReply('102\r\n'), { kind: 'disabled' });
  });

  it('says why garbage is garbage', () => {
    const reasons: Array<[string, RegExp]> = [
      ['', /body is empty/],
      ['   \n', /first line of the body is empty/],
      ['\n42', /first line of the body is empty/],
      ['103', /103 is out of range; expected a load 0-100, 101 \(down\) or 102 \(disabled\)/],
      ['1000', /out of range/],
      ['50%', /has a % sign; write the load as a bare integer 0-100, e.g. 50/],
      ['-1', /"-1" is not an integer/],
      ['4.5', /"4.5" is not an integer/],
      ['load=40', /"load=40" is not an integer/],
      ['<html><body>It works!</body></html>', /is not an integer/],
    ];
    for (const [body, reason] of reasons) {
      const reading = parseLoadReply(body);
      assert.equal(reading.kind, 'invalid', JSON.stringify(body));
      assert.match(reading.kind === 'invalid' ? reading.reason : '', reason, JSON.stringify(body));
    }
  });

  it('a load also says up and ready (undoing 101 or 102); 101 and 102 keep the last load', () => {
    const down: AgentVerdict = { ...NEUTRAL_VERDICT, load: 40, operational: 'down' };
    assert.deepEqual(applyLoadReading(down, { kind: 'load', load: 20 }).verdict, { load: 20, weightPercent: null, operational: 'up', admin: 'ready' });
    const loaded: AgentVerdict = { ...NEUTRAL_VERDICT, load: 40 };
    assert.deepEqual(applyLoadReading(loaded, { kind: 'down' }).verdict, { load: 40, weightPercent: null, operational: 'down', admin: 'ready' });
    const disabled = applyLoadReading(loaded, { kind: 'disabled' });
    assert.deepEqual(disabled.verdict, { load: 40, weightPercent: null, operational: 'up', admin: 'drain' });
    assert.match(disabled.reason, /102.*administratively disabled; draining/);
    const garbage = applyLoadReading(loaded, { kind: 'invalid', reason: 'nope' });
    assert.deepEqual(garbage, { verdict: null, reason: 'nope' });
  });
});
