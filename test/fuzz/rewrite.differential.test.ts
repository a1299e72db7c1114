// What the real server gets: for every request Fulcrum accepts (generated and mutated streams),
// the head writeUpstreamRequestHead forwards, followed by the body as it passes through, must
// parse (by Fulcrum, and by llhttp with the intended differences aligned) as the same request:
// same method, body and trailers and end-to-end fields, the target in origin-form, exactly one
// Host and it the effective host (the authority of an absolute-form target), HTTP/1.1 (but for an
// HTTP/1.0 request without a host), a canonical Content-Length.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { FieldTable } from '../../src/http/fields.ts';
import { HeaderKind } from '../../src/http/header-kind.ts';
import { ParseError } from '../../src/http/parse-error.ts';
import { RequestHead, findRequestHeadEnd, parseRequestHead } from '../../src/http/request-head.ts';
import { type ForwardingPolicy, writeUpstreamRequestHead } from '../../src/http/rewrite.ts';
import { checkStream, describeInput } from './compare.ts';
import { DEFAULT_LIMITS, fulcrumFrame } from './fulcrum-framing.ts';
import { LlhttpOracle } from './llhttp-oracle.ts';
import { mutatedStream, requestStream } from './request-arbitraries.ts';
import { RUNS, SEED } from './settings.ts';

const POLICY: ForwardingPolicy = { xForwardedFor: 'append', xForwardedProto: true, xForwardedHost: true, forwarded: true, proto: 'http' };
/**
 * The fields we add (about 150 bytes here) can push a head near the 16 KiB limit over it, and a
 * Node real server then answers 431: a known limit of the engine, which HAProxy meets with a
 * reserve (tune.maxrewrite). Out of scope here: heads that big are left out.
 */
const MAX_FORWARDED_HEAD = 15 * 1024;
const ADDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'connection']);
const head = new RequestHead();
const fields = new FieldTable(1024);

/** The first request of `input` as the real server gets it, or null when Fulcrum does not forward it whole. */
function forwarded(input: Buffer): { sent: Buffer; upstream: Buffer; kept: Array<[string, string]> } | null {
  const verdict = fulcrumFrame(input, 'skip-empty-lines');
  const first = verdict.messages[0];
  if (first === undefined || !first.complete) return null;
  const headEnd = findRequestHeadEnd(input, 0);
  if (parseRequestHead(input, 0, headEnd, head, fields, DEFAULT_LIMITS) !== ParseError.NONE) return null;
  const { buf, headLength } = writeUpstreamRequestHead(head, fields, '192.0.2.1', POLICY, 0);
  if (headLength > MAX_FORWARDED_HEAD) return null;
  const body = input.subarray(head.end, first.end);
  // Which client fields are hop-by-hop is forwarding.test.ts's business; here, those the
  // rewriter keeps must arrive as they were.
  const kept: Array<[string, string]> = [];
  for (let i = 0; i < fields.count; i++) {
    if (fields.drop[i] === 1) continue;
    kept.push([input.toString('latin1', fields.lineStart[i]!, fields.nameEnd[i]!), input.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!)]);
  }
  return { sent: input.subarray(0, first.end), upstream: Buffer.concat([buf.subarray(0, headLength), body]), kept };
}

function endToEnd(headers: Array<[string, string]>): Array<[string, string]> {
  return headers.filter(([name]) => !ADDED.has(name.toLowerCase()) && !/^(host|content-length)$/i.test(name));
}

let oracle: LlhttpOracle;

async function assertForwardedFaithfully(input: Buffer): Promise<boolean> {
  const f = forwarded(input);
  if (f === null) return false;
  const original = fulcrumFrame(f.sent, 'skip-empty-lines').messages[0]!;
  const again = fulcrumFrame(f.upstream);
  const where = `\n  sent: ${describeInput(f.sent)}\n  forwarded: ${describeInput(f.upstream)}`;
  assert.equal(again.messages.length, 1, `Fulcrum reads the forwarded head as ${again.messages.length} requests (${JSON.stringify(again.stop)})${where}`);
  const m = again.messages[0]!;
  assert.equal(m.complete, true, where);
  assert.equal(m.method, original.method, where);
  assert.equal(m.target, original.originForm, where);
  assert.ok(m.target.startsWith('/') || m.target === '*', where);
  assert.equal(m.version, original.version === '1.0' && original.host === '' ? '1.0' : '1.1', where);
  const hosts = m.headers.filter(([n]) => n.toLowerCase() === 'host').map(([, v]) => v);
  assert.deepEqual(hosts, original.host === '' ? [] : [original.host], where);
  for (const [name, value] of m.headers) {
    if (name.toLowerCase() === 'content-length') assert.ok(value === '0' || /^[1-9][0-9]*$/.test(value), `Content-Length ${value}${where}`);
  }
  assert.deepEqual(endToEnd(m.headers), endToEnd(f.kept), where);
  assert.ok(m.body.equals(original.body), where);
  assert.deepEqual(m.trailers, original.trailers, where);
  const d = await checkStream(f.upstream, 'engine', (bytes) => oracle.parse(bytes));
  assert.equal(d, null, `llhttp: ${d}${where}`);
  return true;
}

describe('the forwarded head (rewrite vs llhttp)', () => {
  before(() => {
    oracle = new LlhttpOracle();
  });
  after(async () => {
    await oracle.close();
  });

  it('generated requests: what the real server gets is the request Fulcrum accepted, in origin-form with one Host', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(requestStream, async (text) => {
        if (await assertForwardedFaithfully(Buffer.from(text, 'latin1'))) checked++;
      }),
      { seed: SEED + 10, numRuns: RUNS },
    );
    assert.ok(checked > RUNS * 0.5, `only ${checked} of ${RUNS} streams had a forwarded request`);
  });

  it('mutated requests: the same', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedStream, async (input) => {
        await assertForwardedFaithfully(input);
      }),
      { seed: SEED + 11, numRuns: RUNS },
    );
  });

  it('the kinds of head the rewriter changes were all exercised', () => {
    // Absolute-form, HTTP/1.0 with and without a host, HTTP/1.x >= 2, leading zeros: each must be
    // among the generated requests, or the properties above prove nothing about them.
    const seen = new Set<string>();
    for (const text of fc.sample(requestStream, { numRuns: RUNS, seed: SEED + 10 })) {
      const input = Buffer.from(text, 'latin1');
      if (forwarded(input) === null) continue;
      if (head.absoluteForm) seen.add('absolute-form');
      if (head.minorVersion >= 2) seen.add('HTTP/1.x>=2');
      if (head.http10) seen.add(head.hostStart < 0 ? 'HTTP/1.0 without host' : 'HTTP/1.0 with host');
      const cl = head.contentLengthField;
      if (cl >= 0 && input[fields.valueStart[cl]!] === 0x30 && fields.valueEnd[cl]! - fields.valueStart[cl]! > 1) seen.add('leading zeros');
      if (fields.kind.subarray(0, fields.count).includes(HeaderKind.HOST) && head.absoluteForm) seen.add('absolute-form with Host');
    }
    assert.deepEqual([...seen].sort(), ['HTTP/1.0 with host', 'HTTP/1.0 without host', 'HTTP/1.x>=2', 'absolute-form', 'absolute-form with Host', 'leading zeros']);
  });
});
