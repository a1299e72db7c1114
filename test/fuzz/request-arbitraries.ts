/**
 * fast-check generators for HTTP/1.1 request streams: well-formed requests first, then the same
 * requests with structural mutations (the classic smuggling shapes) and byte-level mutations.
 */
import fc from 'fast-check';
import { METHODS } from 'node:http';

const COMMON_METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH'];
/** Tokens outside Node's list: Fulcrum forwards them (RFC 9110 §9.1), llhttp refuses them. */
const EXTENSION_METHODS = ['RPC_IN_DATA', 'RPC_OUT_DATA', 'get', 'Get', 'PRI', 'DESCRIBE', 'SETUP', 'FOO', 'GETT', 'G', 'BAN', "!#$%&'*+-.^_`|~"];
const extensionMethod = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EXTENSION_METHODS) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'AZaz09-_.!~'.split('')), minLength: 1, maxLength: 14 }) },
);
/** Not a method Fulcrum forwards: CONNECT (405), and what is not a token. */
const ODD_METHODS = ['CONNECT', 'G\u00e9T', '', 'GE(T', 'GE,T', 'GET\u0000', '[GET]'];

const PATH_CHARS = 'abcxyz019-._~!$&\'()*+,;=:@%/';
const ODD_TARGET_CHARS = '"<>\\^`{|}#[]?';

const pathSegment = fc.string({ unit: fc.constantFrom(...PATH_CHARS.split('')), maxLength: 8 });
const oddTargetString = fc.string({
  unit: fc.constantFrom(...(PATH_CHARS + ODD_TARGET_CHARS).split('')),
  maxLength: 10,
});

const host = fc.constantFrom(
  'a', 'example.com', 'EXAMPLE.com:8080', '127.0.0.1', '[::1]:80', 'h_o-st', 'a.b.c:0',
  'a.example.', '[2001:db8::1]', '[::ffff:1.2.3.4]:443', 'a:', "x~!$&'()*+;=y", '1.2.3.4:65535',
);
/** Host values Fulcrum refuses (400) and llhttp takes: see src/http/host.ts. */
const invalidHost = fc.constantFrom(
  '', ' ', 'a,b', 'a, b', 'user@a', 'a/b', 'a:99999', 'a:123456', 'a:8x', 'a..b', '.a', '.', '%61', '[::1', '[::1]x',
  'a:b:c', '[v1.x]', '[fe80::1%25eth0]', '[1:2:3:4:5:6:7:8:9]', '[::1.2.3.04]', 'a?b', 'a\\b', ':80', 'a\u00e9', 'a"b', 'a{b}',
);

/** origin-form and plain absolute-form targets. */
const validTarget: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(pathSegment, fc.option(pathSegment)).map(([p, q]) => `/${p}${q === null ? '' : `?${q}`}`) },
  { weight: 1, arbitrary: oddTargetString.map((s) => `/${s}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('http', 'http', 'https', 'HTTP', 'ws'), host, pathSegment, fc.constantFrom('/', '/', '', '?'))
      .map(([scheme, h, p, sep]) => `${scheme}://${h}${sep === '' ? '' : `${sep}${p}`}`),
  },
);

const oddTarget: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('http', 'h2c', 'a+b'), fc.constantFrom('', 'u:p@', 'u@', '@', 'a@b@'), host, pathSegment)
      .map(([scheme, user, h, p]) => `${scheme}://${user}${h}/${p}`),
  },
  { weight: 1, arbitrary: fc.tuple(invalidHost, pathSegment).map(([h, p]) => `http://${h}/${p}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('http', 'https'), oddTargetString).map(([s, rest]) => `${s}://${rest}`) },
  { weight: 1, arbitrary: fc.constantFrom('*', '//', 'http://', 'http:///x', 'a:b', '?x', '%', 'a/b', 'http://a?b', 'http://a#b', 'http://[::1]', '*x', 'http:/a') },
);

const tokenName = fc.string({ unit: fc.constantFrom(...'abcXYZ09-_.!#$%&\'*+^`|~'.split('')), minLength: 1, maxLength: 10 });

const FIELD_NAMES = [
  'Accept', 'User-Agent', 'Cookie', 'X-Forwarded-For', 'Forwarded', 'Via', 'Keep-Alive', 'TE', 'Trailer',
  'Proxy-Connection', 'Upgrade', 'Expect', 'Content-Type', 'Content-Lengthx', 'Transfer-Encodings', 'Host2',
];

const fieldValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abc XYZ 0123 ,;=/"()\t'.split('')), maxLength: 16 }),
  fc.constantFrom('', ' ', '\t', 'close', 'keep-alive', 'upgrade', 'chunked', '100-continue', 'é', '\u00ff', 'a\u0080b'),
);

const connectionValue = fc.constantFrom(
  'close', 'keep-alive', 'upgrade', 'Upgrade', 'CLOSE', 'close, upgrade', 'keep-alive, close', 'Keep-Alive',
  'upgrade, keep-alive', ' close ', 'close,', ',close', 'closed', 'x-close', 'te, close', 'foo', 'Upgrade, HTTP2-Settings',
  'close\t', 'keep-alive,,upgrade', 'clos', 'upgradex', 'cookie',
);

const validTransferEncoding = fc.constantFrom('chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'gzip,chunked', 'chunked ', ',chunked', 'gzip , chunked', 'deflate,\tchunked');
const oddTransferEncoding = fc.constantFrom(
  'chunked, gzip', 'chunked, chunked', 'identity', 'gzip', ' chunked ', 'chunked;q=1', 'chunked ;x', 'x-chunked', 'chunkedx',
  'chunked,', 'gzip;a=b, chunked', '', 'chunked\t', 'gzip;q="a,b", chunked', 'chunked gzip', 'gzip chunked', 'chunked\u00a0',
);

const oddContentLength = (len: number): fc.Arbitrary<string> =>
  fc.constantFrom(
    `0${len}`, `+${len}`, `${len} `, ` ${len}`, `${len}, ${len}`, `${len},${len}`, `${len}.0`, `-${len}`, `${len}a`, `0x${len}`, '',
    '99999999999999999999', '9007199254740992', '9007199254740991', `${'0'.repeat(40)}9007199254740992`, '1 0', `${len}\t`,
    `${len + 1}`, `${Math.max(0, len - 1)}`,
  );
/** Content-Length with leading zeros: valid (RFC 9110 §8.6 is 1*DIGIT), bounded by value. */
const contentLengthZeros = fc.constantFrom('', '', '', '', '0', '000', '000000000000000', '0'.repeat(60));

export interface ChunkSpec {
  data: string;
  sizeForm: 'lower' | 'upper' | 'padded' | 'zeros' | 'huge' | 'overflow';
  ext: string;
}

const validChunkExtension = fc.constantFrom('', '', '', ';a', ';a=b', ';a="b c"', ';a=b;c=d', ';a="\\"q"', ';a="\u00e9"', ';a="b\\\u00e9"', ";!#$%&'*+-.^_`|~=x");
const oddChunkExtension = fc.constantFrom(
  '; a=b', ';a =b', ';a= b', ';', ';=b', ' ;a', '\t;a', ';a=', ';a="b', ';a=b c', ';\u00e9', ';a=\u00e9', ';a\t=b', ';a,b', ' ',
  ';a=b"c"', ';a="b";', ';a="\\\u0001"', ';a="\u007f"', ';;a',
);

const chunkData = fc.string({ unit: fc.constantFrom(...'abc\r\n0;: '.split('')), minLength: 1, maxLength: 12 });
const validChunk: fc.Arbitrary<ChunkSpec> = fc.record({
  data: chunkData,
  sizeForm: fc.constantFrom('lower', 'lower', 'upper', 'padded', 'zeros'),
  ext: validChunkExtension,
});
const oddChunk: fc.Arbitrary<ChunkSpec> = fc.record({
  data: chunkData,
  sizeForm: fc.constantFrom('lower', 'lower', 'upper', 'padded', 'zeros', 'huge', 'overflow'),
  ext: fc.oneof(validChunkExtension, oddChunkExtension),
});

const validTrailer = fc.tuple(fc.constantFrom('X-T', 'Expires', 'Server-Timing', 'host'), fieldValue).map(([n, v]) => `${n}: ${v}\r\n`);
const oddTrailer = fc.oneof(
  fc.tuple(fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Connection', 'Proxy-Connection', 'Upgrade', 'Content-Lengths', 'Connectio'), connectionValue).map(([n, v]) => `${n}: ${v}\r\n`),
  fc.constantFrom('X-T:v\r\n', ' X: v\r\n', 'X : v\r\n', 'X: a\r\n b\r\n', ': v\r\n', 'X v\r\n', 'X:\r\n', 'X: v\n', 'X: v\r', 'Content-Length: 0\r\n'),
);

export interface RequestSpec {
  leading: string;
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: { kind: 'none' } | { kind: 'length'; data: string } | { kind: 'chunked'; chunks: ChunkSpec[]; lastExt: string; trailers: string[] };
  /** Name case and separator forms for the framing headers. */
  headerForm: { sep: string; caseMode: 'canon' | 'lower' | 'upper' };
  /** Rarely: one long element near a limit (Node's 16 KiB, Fulcrum's maxHeaderBytes and maxUriBytes). */
  padding: Padding | null;
}

export interface Padding {
  where: 'header' | 'target' | 'extension' | 'trailer';
  length: number;
}

/** Lengths around 8 KiB (maxUriBytes) and 16 KiB (maxHeaderBytes, Node's maxHeaderSize and chunk-extension cap). */
const padding: fc.Arbitrary<Padding> = fc.record({
  where: fc.constantFrom('header', 'target', 'extension', 'trailer'),
  length: fc.oneof(fc.integer({ min: 8_170, max: 8_200 }), fc.integer({ min: 16_330, max: 16_400 })),
});

function hex(n: number, form: ChunkSpec['sizeForm']): string {
  const h = n.toString(16);
  if (form === 'upper') return h.toUpperCase();
  if (form === 'padded') return `000${h}`;
  // Leading zeros do not count: 14 or more digits are fine when the value is small.
  if (form === 'zeros') return `${'0'.repeat(20)}${h}`;
  // 2^52 - 1 is the largest size the decoder takes; past 16 digits a 64-bit size wraps around to `h`.
  if (form === 'huge') return `fffffffffffff`;
  if (form === 'overflow') return `1${'0'.repeat(16 - h.length)}${h}`;
  return h;
}

function applyCase(name: string, mode: RequestSpec['headerForm']['caseMode']): string {
  if (mode === 'lower') return name.toLowerCase();
  if (mode === 'upper') return name.toUpperCase();
  return name;
}

export function serialize(spec: RequestSpec): string {
  const pad = (where: Padding['where']): string => (spec.padding?.where === where ? 'p'.repeat(spec.padding.length) : '');
  let s = `${spec.leading}${spec.method} ${spec.target}${pad('target')} ${spec.version}\r\n`;
  for (const [name, value] of spec.headers) s += `${applyCase(name, spec.headerForm.caseMode)}:${spec.headerForm.sep}${value}\r\n`;
  if (spec.padding?.where === 'header') s += `X-Pad: ${pad('header')}\r\n`;
  s += '\r\n';
  const body = spec.body;
  if (body.kind === 'length') s += body.data;
  if (body.kind === 'chunked') {
    for (const c of body.chunks) s += `${hex(c.data.length, c.sizeForm)}${c.ext}\r\n${c.data}\r\n`;
    const ext = spec.padding?.where === 'extension' ? `;${pad('extension')}` : '';
    const trailer = spec.padding?.where === 'trailer' ? `X-Pad: ${pad('trailer')}\r\n` : '';
    s += `0${body.lastExt}${ext}\r\n${body.trailers.join('')}${trailer}\r\n`;
  }
  return s;
}

const otherHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom(...FIELD_NAMES), fieldValue),
    fc.tuple(tokenName, fieldValue),
    fc.tuple(fc.constant('Connection'), connectionValue),
  ),
  { maxLength: 4 },
);

const validHost = host.map((h) => [h]);
const oddHost: fc.Arbitrary<string[]> = fc.oneof(
  host.map((h) => [h]),
  fc.constant<string[]>([]),
  fc.tuple(host, host).map(([a, b]) => [a, b]),
  fc.constantFrom<string[]>([' a '], ['a b']),
  invalidHost.map((h) => [h]),
);

type Framing = 'none' | 'length' | 'chunked' | 'cl0' | 'both' | 'length2' | 'te2';

/**
 * The knobs of one request. `odd` picks, for each knob, among both the valid forms and the odd
 * ones; without it every knob is a form Fulcrum takes, so the valid requests get deep coverage
 * (bodies, trailers, pipelining) instead of stopping at the first odd byte.
 */
function knobs(odd: boolean) {
  const pick = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    odd ? fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: other }) : valid;
  return fc.record({
    leading: pick(fc.constantFrom('', '', '', '\r\n'), fc.constantFrom('\r\n\r\n', '\n', '\r\n\r\n\r\n', '\r')),
    method: pick(
      fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom(...COMMON_METHODS) },
        { weight: 2, arbitrary: fc.constantFrom(...METHODS.filter((m) => m !== 'CONNECT')) },
        { weight: 1, arbitrary: extensionMethod },
      ),
      fc.constantFrom(...ODD_METHODS),
    ),
    target: pick(validTarget, oddTarget),
    version: pick(
      fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/1.9'),
      fc.constantFrom('HTTP/2.0', 'HTTP/3.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.10', 'HTTP/11', 'HTTP/1.1 ', 'HTTP/1.a', 'HTTP/1.'),
    ),
    host: pick(validHost, oddHost),
    framing: pick(fc.constantFrom<Framing>('none', 'length', 'chunked', 'cl0'), fc.constantFrom<Framing>('both', 'length2', 'te2')),
    bodyData: fc.string({ unit: fc.constantFrom(...'abcGET /\r\nHTTP1.:'.split('')), maxLength: 24 }),
    badLength: odd ? fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) : fc.constant(false),
    chunks: fc.array(odd ? oddChunk : validChunk, { maxLength: 3 }),
    lastExt: pick(validChunkExtension, oddChunkExtension),
    trailers: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(pick(validTrailer, oddTrailer), { minLength: 1, maxLength: 2 }) }),
    te: pick(validTransferEncoding, oddTransferEncoding),
    te2: pick(validTransferEncoding, oddTransferEncoding),
    others: otherHeaders,
    order: fc.nat(),
    headerForm: fc.record({
      sep: fc.constantFrom(' ', ' ', ' ', '', '\t', '  ', ' \t'),
      caseMode: fc.constantFrom<RequestSpec['headerForm']['caseMode']>('canon', 'canon', 'lower', 'upper'),
    }),
    padding: fc.oneof({ weight: 30, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: padding }),
  });
}

type Knobs = ReturnType<typeof knobs> extends fc.Arbitrary<infer T> ? T : never;

function buildSpec(r: Knobs, odd: boolean, clValue: string): RequestSpec {
  const framing: Array<[string, string]> = [];
  let body: RequestSpec['body'] = { kind: 'none' };
  const chunked = { kind: 'chunked' as const, chunks: r.chunks, lastExt: r.lastExt, trailers: r.trailers };
  // Chunked framing in HTTP/1.0 is refused (TRANSFER_ENCODING_IN_HTTP10): keep valid requests valid.
  const kind = !odd && r.version === 'HTTP/1.0' && r.framing === 'chunked' ? 'length' : r.framing;
  switch (kind) {
    case 'length':
      framing.push(['Content-Length', clValue]);
      body = { kind: 'length', data: r.bodyData };
      break;
    case 'length2':
      framing.push(['Content-Length', clValue], ['Content-Length', clValue]);
      body = { kind: 'length', data: r.bodyData };
      break;
    case 'cl0':
      framing.push(['Content-Length', '0']);
      break;
    case 'chunked':
      framing.push(['Transfer-Encoding', r.te]);
      body = chunked;
      break;
    case 'te2':
      framing.push(['Transfer-Encoding', r.te2], ['Transfer-Encoding', r.te]);
      body = chunked;
      break;
    case 'both':
      framing.push(['Content-Length', clValue], ['Transfer-Encoding', r.te]);
      body = r.order % 2 === 0 ? chunked : { kind: 'length', data: r.bodyData };
      break;
  }
  const headers: Array<[string, string]> = [...r.host.map((h): [string, string] => ['Host', h]), ...r.others];
  // Put the framing headers at a random place among the others.
  const at = r.order % (headers.length + 1);
  headers.splice(at, 0, ...framing);
  return { leading: r.leading, method: r.method, target: r.target, version: r.version, headers, body, headerForm: r.headerForm, padding: r.padding };
}

function specOf(odd: boolean): fc.Arbitrary<RequestSpec> {
  return knobs(odd).chain((r) => {
    const length = Buffer.byteLength(r.bodyData, 'latin1');
    const clValue = r.badLength ? oddContentLength(length) : contentLengthZeros.map((zeros) => `${zeros}${length}`);
    return clValue.map((v) => buildSpec(r, odd, v));
  });
}

/** One request: two in three made only of forms Fulcrum takes, the rest with odd knobs too. */
export const requestSpec: fc.Arbitrary<RequestSpec> = fc.oneof({ weight: 2, arbitrary: specOf(false) }, { weight: 1, arbitrary: specOf(true) });

/** One to three pipelined requests, sometimes with stray CRLFs between them. */
export const requestStream: fc.Arbitrary<string> = fc
  .array(requestSpec, { minLength: 1, maxLength: 3 })
  .map((specs) => specs.map(serialize).join(''));

/** The bytes mutations insert or substitute: the ones HTTP framing is made of, and the forbidden ones. */
const INTERESTING = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x2c, 0x3b, 0x00, 0x7f, 0x80, 0xff, 0xa0, 0x0b, 0x0c, 0x22, 0x3d, 0x30, 0x2f];
const SNIPPETS = [
  '\r\n', '\r\n\r\n', '\n', '\r', ' ', '\t', '\r\n ', '\r\n\t', ':', ', chunked', 'Transfer-Encoding: chunked\r\n',
  'Content-Length: 0\r\n', 'Content-Length: 5\r\n', 'Host: h\r\n', 'Connection: close\r\n', 'Connection: upgrade\r\nUpgrade: x\r\n',
  'ffffffffffffffff', '1000000000000', '0\r\n\r\n', 'HTTP/1.1', '\u00e9', '\u0000', '\u007f',
];

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'replace'; at: number; byte: number }
  | { op: 'delete'; at: number; len: number }
  | { op: 'snippet'; at: number; text: string }
  | { op: 'duplicate-line'; at: number }
  | { op: 'case'; at: number; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.constantFrom(...INTERESTING) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), byte: fc.constantFrom(...INTERESTING) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('snippet' as const), at: fc.nat(), text: fc.constantFrom(...SNIPPETS) }),
  fc.record({ op: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(input: Buffer, m: Mutation): Buffer {
  if (input.length === 0) return input;
  const at = m.at % (input.length + 1);
  const before = input.subarray(0, at);
  const after = input.subarray(at);
  switch (m.op) {
    case 'flip': {
      if (at === input.length) return input;
      const out = Buffer.from(input);
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'insert':
      return Buffer.concat([before, Buffer.of(m.byte), after]);
    case 'replace': {
      if (at === input.length) return input;
      const out = Buffer.from(input);
      out[at] = m.byte;
      return out;
    }
    case 'delete':
      return Buffer.concat([before, input.subarray(Math.min(input.length, at + m.len))]);
    case 'snippet':
      return Buffer.concat([before, Buffer.from(m.text, 'latin1'), after]);
    case 'duplicate-line': {
      // Repeat the line that contains `at` (a duplicated header, request line or chunk line).
      const start = input.lastIndexOf(0x0a, at - 1) + 1;
      const lf = input.indexOf(0x0a, at);
      const end = lf < 0 ? input.length : lf + 1;
      return Buffer.concat([input.subarray(0, end), input.subarray(start, end), input.subarray(end)]);
    }
    case 'case': {
      const out = Buffer.from(input);
      for (let i = at; i < Math.min(out.length, at + m.len); i++) {
        const b = out[i]!;
        if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) out[i] = b ^ 0x20;
      }
      return out;
    }
  }
}

/** `text` with one to four mutations applied. */
export function mutated(text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(text, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([t, mutations]) => mutations.reduce(mutate, Buffer.from(t, 'latin1')));
}

/** A request stream with one to four mutations applied. */
export const mutatedStream: fc.Arbitrary<Buffer> = mutated(requestStream);
