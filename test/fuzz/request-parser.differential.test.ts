// Differential fuzz test: Fulcrum's HTTP/1.1 request parser against Node's own llhttp.
//
// Every case is a byte stream a client could send, followed by a well-formed sentinel request.
// Fulcrum's side runs the engine's framing steps over it (fulcrum-framing.ts); llhttp's side is a
// Node http.Server fed the same bytes (llhttp-oracle.ts). The property (compare.ts) is
// one-directional: whatever Fulcrum accepts, llhttp accepts, with the same method, target, version,
// header list, body, trailers and end of message. Fulcrum may refuse more. Where it means to
// accept more (method tokens outside Node's list, HTTP/1.x >= 2), intended-differences.ts aligns
// the bytes llhttp gets, and only those bytes.
//
// That the parsers never throw, whatever the bytes, is parser-robustness.test.ts.
//
// Fixed seed and CI-sized run counts (settings.ts). To fuzz longer locally:
//   FUZZ_RUNS=30000 FUZZ_SEED=$RANDOM node --test test/fuzz/request-parser.differential.test.ts
// and to see every divergence class at once rather than the first: node test/fuzz/triage.ts 20000
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ParseError } from '../../src/http/parse-error.ts';
import { checkStream, describeInput, divergence, SENTINEL } from './compare.ts';
import { type FulcrumStop, type HeadSearch, fulcrumFrame } from './fulcrum-framing.ts';
import { alignForOracle } from './intended-differences.ts';
import { LlhttpOracle, type NodeVerdict } from './llhttp-oracle.ts';
import { mutatedStream, requestStream } from './request-arbitraries.ts';
import { RUNS, SEED } from './settings.ts';

let oracle: LlhttpOracle;
const SEARCHES: HeadSearch[] = ['engine', 'skip-empty-lines'];

/** Null when both head searches agree with llhttp on input + SENTINEL, else what differs. */
async function check(input: Buffer): Promise<string | null> {
  const stream = Buffer.concat([input, Buffer.from(SENTINEL, 'latin1')]);
  // The two searches mostly align the same bytes: parse each distinct input once.
  const parsed = new Map<string, Promise<NodeVerdict>>();
  const parse = (bytes: Buffer): Promise<NodeVerdict> => {
    const key = bytes.toString('latin1');
    let verdict = parsed.get(key);
    if (verdict === undefined) parsed.set(key, (verdict = oracle.parse(bytes)));
    return verdict;
  };
  for (const search of SEARCHES) {
    const d = await checkStream(stream, search, parse);
    if (d !== null) return `${d} [head search: ${search}]`;
  }
  return null;
}

async function assertNoDivergence(input: Buffer): Promise<void> {
  const d = await check(input);
  if (d !== null) throw new Error(`${d}\n  input: ${describeInput(input)}`);
}

// ---- regression corpus ------------------------------------------------------------------------
// One case per divergence class the fuzzer (or a probe of Node's limits) found, named after the
// input class. `fulcrum` is what the engine must make of input + SENTINEL: how many requests it
// accepts and why it stops. Each case also runs through the differential check.

interface Outcome {
  messages: number;
  stop: FulcrumStop['kind'];
  error?: ParseError;
}

interface Regression {
  name: string;
  input: string;
  fulcrum: Outcome;
}

const CHUNKED_POST = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
const NEXT = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';
const refused = (error: ParseError): Outcome => ({ messages: 0, stop: 'refused', error });
const badChunk: Outcome = { messages: 1, stop: 'bad-chunk' };
const accepted = (messages: number): Outcome => ({ messages, stop: 'end' });

const REGRESSIONS: Regression[] = [
  // Baselines: what must keep working.
  { name: 'plain GET', input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: accepted(2) },
  { name: 'pipelined POST with Content-Length', input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc${NEXT}`, fulcrum: accepted(3) },
  { name: 'chunked with extensions and a trailer', input: `${CHUNKED_POST}3;a=b;c="d \\"e\\""\r\nabc\r\n0;x\r\nX-T: v\r\n\r\n`, fulcrum: accepted(2) },
  { name: 'one empty line before the request line', input: `\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n`, fulcrum: accepted(2) },
  { name: 'Transfer-Encoding gzip, chunked with spaces after chunked', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\tchunked  \r\n\r\n0\r\n\r\n', fulcrum: accepted(2) },

  // llhttp refuses these bytes in the authority of an absolute-form target (HPE_INVALID_URL).
  { name: 'absolute-form with "|" in the authority', input: 'GET http://a|b/ HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  { name: 'absolute-form with a quote in the authority', input: 'PUT http://a"b/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  { name: 'absolute-form with a fragment right after the authority', input: 'GET http://a#b HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  { name: 'absolute-form with a backslash in the authority', input: 'GET http://\\a/ HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  // Stricter than llhttp on purpose (RFC 9110 §4.2.1, §4.2.4).
  { name: 'absolute-form with userinfo', input: 'GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  { name: 'absolute-form with an empty authority', input: 'GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },

  // Chunk size lines: llhttp takes no whitespace after the size (HPE_INVALID_CHUNK_SIZE) and
  // strict extension syntax (HPE_STRICT).
  { name: 'whitespace between chunk size and extension', input: `${CHUNKED_POST}1 ;a\r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },
  { name: 'tab between last-chunk size and extension', input: `${CHUNKED_POST}0\t;a\r\n\r\n`, fulcrum: badChunk },
  { name: 'whitespace after the chunk size', input: `${CHUNKED_POST}1 \r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },
  { name: 'chunk extension with a space in it', input: `${CHUNKED_POST}1;a b\r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },
  { name: 'chunk extension with whitespace around "="', input: `${CHUNKED_POST}0;a =b\r\n\r\n`, fulcrum: badChunk },
  { name: 'chunk extension with obs-text in a token', input: `${CHUNKED_POST}0;\u00e9\r\n\r\n`, fulcrum: badChunk },
  { name: 'chunk extension with whitespace after a quoted value', input: `${CHUNKED_POST}1;a="b" \r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },
  { name: 'empty chunk extension', input: `${CHUNKED_POST}1;;\r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },
  { name: 'chunk extension over 16 KiB', input: `${CHUNKED_POST}1;${'e'.repeat(16_385)}\r\nx\r\n0\r\n\r\n`, fulcrum: badChunk },

  // Transfer-Encoding: after "chunked" llhttp allows only spaces; anything else makes it a
  // non-chunked coding, which it refuses in a request (HPE_INVALID_TRANSFER_ENCODING).
  { name: 'Transfer-Encoding chunked with a trailing comma', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n', fulcrum: refused(ParseError.BAD_TRANSFER_ENCODING) },
  { name: 'Transfer-Encoding chunked with parameters', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n', fulcrum: refused(ParseError.BAD_TRANSFER_ENCODING) },
  { name: 'Transfer-Encoding chunked, space, parameters', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ;x\r\n\r\n0\r\n\r\n', fulcrum: refused(ParseError.BAD_TRANSFER_ENCODING) },
  { name: 'Transfer-Encoding chunked followed by a tab', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n', fulcrum: refused(ParseError.BAD_TRANSFER_ENCODING) },
  { name: 'Transfer-Encoding chunked followed by a second word', input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked gzip\r\n\r\n0\r\n\r\n', fulcrum: refused(ParseError.BAD_TRANSFER_ENCODING) },

  // llhttp reads Proxy-Connection like Connection.
  { name: 'Proxy-Connection close then a pipelined request', input: `GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n${NEXT}`, fulcrum: { messages: 1, stop: 'close' } },
  { name: 'Proxy-Connection upgrade then a pipelined request', input: `GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: upgrade\r\nUpgrade: x\r\n\r\n${NEXT}`, fulcrum: { messages: 1, stop: 'upgrade' } },

  // Trailer fields llhttp acts on: framing fields are errors to it, Connection: close ends the connection.
  { name: 'Content-Length trailer', input: `${CHUNKED_POST}1\r\nx\r\n0\r\nContent-Length: 1\r\n\r\n`, fulcrum: badChunk },
  { name: 'Transfer-Encoding trailer', input: `${CHUNKED_POST}0\r\ntransfer-encoding: gzip\r\n\r\n`, fulcrum: badChunk },
  { name: 'Connection close trailer then a pipelined request', input: `${CHUNKED_POST}0\r\nConnection: close\r\n\r\n${NEXT}`, fulcrum: badChunk },
  { name: 'Proxy-Connection close trailer then a pipelined request', input: `${CHUNKED_POST}0\r\nPROXY-CONNECTION: close\r\n\r\n${NEXT}`, fulcrum: badChunk },
  { name: 'trailer section over 16 KiB', input: `${CHUNKED_POST}0\r\nX: ${'v'.repeat(16_380)}\r\n\r\n`, fulcrum: badChunk },

  // Two empty lines hold a CRLFCRLF: the engine's search ended the head there and the request
  // went out without its fields. Now refused; findRequestHeadEnd accepts it (see the next test).
  { name: 'two empty lines before the request line', input: '\r\n\r\nGET / HTTP/1.0\r\nX: 1\r\n\r\n', fulcrum: refused(ParseError.BAD_REQUEST_LINE) },
  { name: 'three empty lines before an HTTP/1.1 request', input: '\r\n\r\n\r\nDELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc', fulcrum: refused(ParseError.BAD_REQUEST_LINE) },

  // Fault "exchange farms cannot be balanced": every method token is forwarded (llhttp knows a
  // fixed list; aligned, see intended-differences.ts). CONNECT stays refused.
  { name: 'RPC_IN_DATA with a body, then a pipelined request', input: `RPC_IN_DATA /rpc/rpcproxy.dll?ex:6001 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc${NEXT}`, fulcrum: accepted(3) },
  { name: 'RPC_OUT_DATA', input: 'RPC_OUT_DATA /rpc/rpcproxy.dll HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', fulcrum: accepted(2) },
  { name: 'lower-case get, a method of its own', input: 'get / HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: accepted(2) },
  { name: 'extension method with a chunked body', input: `FROB / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`, fulcrum: accepted(2) },
  { name: 'CONNECT', input: 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n', fulcrum: refused(ParseError.CONNECT_NOT_SUPPORTED) },
  { name: 'a method that is not a token', input: 'GE(T / HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_REQUEST_LINE) },

  // Fault "leading zeros": the value is bounded, not the digits. llhttp takes any number of zeros.
  { name: 'Content-Length of 16 digits with a small value', input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000005\r\n\r\nhello${NEXT}`, fulcrum: accepted(3) },
  { name: 'Content-Length with 60 leading zeros', input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${'0'.repeat(60)}3\r\n\r\nabc`, fulcrum: accepted(2) },
  { name: 'Content-Length of zeros only', input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000\r\n\r\n${NEXT}`, fulcrum: accepted(3) },
  { name: 'Content-Length 2^53 - 1 (the largest we take)', input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740991\r\n\r\nabc', fulcrum: { messages: 1, stop: 'incomplete' } },
  { name: 'Content-Length 2^53 (stricter than llhttp: not exact in a double)', input: 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 009007199254740992\r\n\r\nabc', fulcrum: refused(ParseError.BAD_CONTENT_LENGTH) },
  { name: 'chunk size of 17 digits with a small value', input: `${CHUNKED_POST}00000000000000005\r\nhello\r\n0000000000000000000\r\n\r\n${NEXT}`, fulcrum: accepted(3) },
  { name: 'chunk size with 200 leading zeros', input: `${CHUNKED_POST}${'0'.repeat(200)}1\r\nx\r\n0\r\n\r\n`, fulcrum: accepted(2) },
  { name: 'chunk size 2^52 - 1 (the largest we take)', input: `${CHUNKED_POST}000fffffffffffff\r\nabc`, fulcrum: { messages: 1, stop: 'incomplete' } },
  { name: 'chunk size 2^52 (stricter than llhttp)', input: `${CHUNKED_POST}0010000000000000\r\nabc`, fulcrum: badChunk },

  // Fault "Host is not validated as a host" (src/http/host.ts): Fulcrum refuses, llhttp takes them.
  { name: 'Host with a comma and a space', input: 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host with a comma', input: 'GET / HTTP/1.1\r\nHost: a,b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host with userinfo', input: 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host with a path', input: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host of whitespace only', input: 'GET / HTTP/1.1\r\nHost:  \t \r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'empty Host', input: 'GET / HTTP/1.1\r\nHost:\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host with a port over 65535', input: 'GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host with an empty label', input: 'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'Host percent-encoded', input: 'GET / HTTP/1.1\r\nHost: %61\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'invalid Host in an HTTP/1.0 request', input: 'GET / HTTP/1.0\r\nHost: a b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'invalid Host beside an absolute-form target', input: 'GET http://a/ HTTP/1.1\r\nHost: a@b\r\n\r\n', fulcrum: refused(ParseError.BAD_HOST) },
  { name: 'absolute-form with a comma in the authority', input: 'GET http://a,b/ HTTP/1.1\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_TARGET) },
  { name: 'Host with an IPv6 literal, a trailing dot, an empty port', input: `GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]:80\r\n\r\nGET / HTTP/1.1\r\nHost: a.example.\r\n\r\nGET / HTTP/1.1\r\nHost: a:\r\n\r\n`, fulcrum: accepted(4) },
  { name: 'absolute-form with a different Host', input: `GET http://a.example/x?y HTTP/1.1\r\nHost: b.example\r\n\r\n${NEXT}`, fulcrum: accepted(3) },
  { name: 'absolute-form with an empty path', input: 'GET http://a.example?y HTTP/1.1\r\nHost: b\r\n\r\n', fulcrum: accepted(2) },

  // Fault "HTTP/1.2": a higher minor version is HTTP/1.1 (aligned); another major is 505.
  { name: 'HTTP/1.2 request line', input: `GET / HTTP/1.2\r\nHost: a\r\n\r\n${NEXT}`, fulcrum: accepted(3) },
  { name: 'HTTP/1.9 with a chunked body', input: 'POST / HTTP/1.9\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n', fulcrum: accepted(2) },
  { name: 'HTTP/1.2 without Host', input: 'GET / HTTP/1.2\r\n\r\n', fulcrum: refused(ParseError.MISSING_HOST) },
  { name: 'HTTP/2.0 request line (llhttp takes it)', input: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.UNSUPPORTED_VERSION) },
  { name: 'HTTP/1.10 request line', input: 'GET / HTTP/1.10\r\nHost: a\r\n\r\n', fulcrum: refused(ParseError.BAD_REQUEST_LINE) },
];

function outcome(input: Buffer, search: HeadSearch): Outcome {
  const f = fulcrumFrame(Buffer.concat([input, Buffer.from(SENTINEL, 'latin1')]), search);
  const o: Outcome = { messages: f.messages.length, stop: f.stop.kind };
  if (f.stop.kind === 'refused') o.error = f.stop.error;
  return o;
}

/** The parts of a verdict a TCP delivery must reproduce (an unfinished message only errors at EOF there). */
function comparable(v: NodeVerdict): unknown {
  return {
    messages: v.messages.map((m) => ({ ...m, body: m.body.toString('latin1') })),
    error: v.error === 'HPE_INVALID_EOF_STATE' ? null : v.error,
    refusedAfterHead: v.refusedAfterHead,
  };
}

describe('request parser vs llhttp (differential)', () => {
  before(() => {
    oracle = new LlhttpOracle();
  });
  after(async () => {
    await oracle.close();
  });

  describe('regressions', () => {
    for (const r of REGRESSIONS) {
      it(r.name, async () => {
        const input = Buffer.from(r.input, 'latin1');
        assert.deepEqual(outcome(input, 'engine'), r.fulcrum);
        await assertNoDivergence(input);
      });
    }

    it('findRequestHeadEnd accepts empty lines before the request line, with all its fields', async () => {
      const input = Buffer.from('\r\n\r\n\r\nGET / HTTP/1.0\r\nX: 1\r\n\r\n', 'latin1');
      const f = fulcrumFrame(input, 'skip-empty-lines');
      assert.equal(f.stop.kind, 'close');
      assert.deepEqual(f.messages[0]!.headers, [['X', '1']]);
      await assertNoDivergence(input);
    });

    it('the alignment of intended differences is narrow: only method and version bytes change, the rest still must agree', async () => {
      const input = Buffer.from(`RPC_IN_DATA /x HTTP/1.2\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc${SENTINEL}`, 'latin1');
      const verdict = fulcrumFrame(input);
      const aligned = alignForOracle(input, verdict);
      assert.equal(aligned.input.toString('latin1'), `GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc${SENTINEL}`);
      assert.equal(aligned.verdict.messages[0]!.method, 'GET');
      const node = await oracle.parse(aligned.input);
      assert.equal(divergence(aligned.verdict, node), null);
      // Were Fulcrum to frame the body differently, the aligned comparison still says so.
      const doctored = { ...aligned.verdict, messages: aligned.verdict.messages.map((m, i) => (i === 0 ? { ...m, body: Buffer.from('ab') } : m)) };
      assert.match(divergence(doctored, node) ?? '', /body/);
      // A known method and HTTP/1.1 are not touched.
      const plain = Buffer.from(`POST / HTTP/1.1\r\nHost: a\r\n\r\n${SENTINEL}`, 'latin1');
      assert.equal(alignForOracle(plain, fulcrumFrame(plain)).input, plain);
    });

    it('the in-memory connection sees what a TCP connection sees', async () => {
      for (const r of REGRESSIONS) {
        const input = Buffer.concat([Buffer.from(r.input, 'latin1'), Buffer.from(SENTINEL, 'latin1')]);
        const [memory, tcp] = [await oracle.parse(input), await oracle.parseOverTcp(input)];
        assert.deepEqual(comparable(tcp), comparable(memory), r.name);
      }
    });
  });

  describe('properties', () => {
    it('well-formed and odd request streams: Fulcrum accepts => llhttp accepts and frames the same', async () => {
      let acceptedCases = 0;
      await fc.assert(
        fc.asyncProperty(requestStream, async (text) => {
          const input = Buffer.from(text, 'latin1');
          if (fulcrumFrame(input).messages.length > 0) acceptedCases++;
          await assertNoDivergence(input);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // Not vacuous: most generated streams start with a request Fulcrum takes.
      assert.ok(acceptedCases > RUNS * 0.6, `only ${acceptedCases} of ${RUNS} streams had an accepted request`);
    });

    it('mutated request streams: Fulcrum accepts => llhttp accepts and frames the same', async () => {
      let acceptedCases = 0;
      await fc.assert(
        fc.asyncProperty(mutatedStream, async (input) => {
          if (fulcrumFrame(input).messages.length > 0) acceptedCases++;
          await assertNoDivergence(input);
        }),
        { seed: SEED + 1, numRuns: RUNS * 2 },
      );
      assert.ok(acceptedCases > RUNS * 2 * 0.2, `only ${acceptedCases} of ${RUNS * 2} mutated streams had an accepted request`);
    });
  });
});
