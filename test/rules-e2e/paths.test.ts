// The path rules see and the real server gets: percent-encoded unreserved characters decoded and
// dot segments removed, so `/%61dmin` and `/static/../admin` are `/admin` to a deny rule and to
// the real server, and runs of slashes are one; other escapes stay. A virtual service without rules runs no filter: its
// requests go on as sent. And request bodies over a rule's requestBody.maxBytes get 413.
import { ruleTables } from './table.ts';

const OUTSIDE = '127.0.0.3';
const INSIDE = '127.0.0.1';

ruleTables([
  {
    name: 'normalised paths: a deny rule and the real server see /admin however it is spelt',
    config: `
pools: [main, rpc]
rules:
  - name: no-admin
    match: { all: [ { path: { prefix: /admin } }, { not: { clientAddress: ${INSIDE} } } ] }
    deny: true
  - { name: rpc, match: { method: RPC_IN_DATA }, pool: rpc }
`,
    requests: [
      { path: '/admin', clientAddress: OUTSIDE },
      { path: '/%61dmin', clientAddress: OUTSIDE },
      { path: '/ad%6Din/x', clientAddress: OUTSIDE },
      { path: '/static/../admin', clientAddress: OUTSIDE },
      { path: '/./admin', clientAddress: OUTSIDE },
      { path: '/../admin', clientAddress: OUTSIDE },
      { path: '/static/%2e%2e/admin', clientAddress: OUTSIDE },
      { path: '/ADMIN', clientAddress: OUTSIDE },
      { path: '/%2561dmin', clientAddress: OUTSIDE },
      { path: '/%61dmin?next=/x', clientAddress: INSIDE },
      { path: '/static/../admin/./users', clientAddress: INSIDE },
      { path: '/a/./b/../c?q=1', clientAddress: OUTSIDE },
      { path: '/%7Euser/a%20b%2Fc', clientAddress: OUTSIDE },
      { path: '//admin', clientAddress: OUTSIDE },
      { path: '/static//..//admin', clientAddress: OUTSIDE },
      { path: '/a//b///c?u=http://x//y', clientAddress: OUTSIDE },
      { method: 'RPC_IN_DATA', path: '/rpc/../rpc/rpcproxy.dll', clientAddress: OUTSIDE, body: 'data' },
    ],
    expect: [
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { status: 403, rule: 'no-admin', termination: 'denied' },
      // A ".." above the root stays at the root (RFC 3986 §5.2.4).
      { status: 403, rule: 'no-admin', termination: 'denied' },
      // "%2e" is "." (unreserved): decoded, then the dot segment goes.
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { pool: 'main', upstreamPath: '/ADMIN' },
      // "%25" is "%" (reserved for escapes): it stays, so this is not /admin, here or at the real server.
      { pool: 'main', upstreamPath: '/%2561dmin' },
      { pool: 'main', upstreamPath: '/admin?next=/x' },
      { pool: 'main', upstreamPath: '/admin/users' },
      { pool: 'main', upstreamPath: '/a/c?q=1' },
      { pool: 'main', upstreamPath: '/~user/a%20b%2Fc' },
      // Runs of slashes are one (IIS and nginx merge them): "//admin" is /admin.
      { status: 403, rule: 'no-admin', termination: 'denied' },
      { status: 403, rule: 'no-admin', termination: 'denied' },
      // The query is not a path: its slashes stay.
      { pool: 'main', upstreamPath: '/a/b/c?u=http://x//y' },
      { pool: 'rpc', rule: 'rpc', upstreamMethod: 'RPC_IN_DATA', upstreamPath: '/rpc/rpcproxy.dll', upstreamBody: 'data' },
    ],
  },
  {
    name: 'no rules: the request goes on as sent, any method',
    config: 'pools: [main]',
    requests: [
      { path: '/%61dmin' },
      { path: '/static/../admin?x=1' },
      { method: 'RPC_IN_DATA', path: '/rpc/rpcproxy.dll', body: 'data' },
      { method: 'POST', path: '/upload', body: { chunks: ['a'.repeat(1000), 'b'.repeat(1000)] } },
    ],
    expect: [
      { pool: 'main', upstreamPath: '/%61dmin' },
      { pool: 'main', upstreamPath: '/static/../admin?x=1' },
      { pool: 'main', upstreamMethod: 'RPC_IN_DATA', upstreamBody: 'data' },
      { pool: 'main', upstreamBody: 'a'.repeat(1000) + 'b'.repeat(1000) },
    ],
  },
  {
    name: 'requestBody.maxBytes: 413 for a Content-Length or a chunked body over it, never forwarded whole',
    config: `
pools: [main]
rules:
  - { name: upload, match: { path: { prefix: /upload } }, requestBody: { maxBytes: 100 } }
  - { name: no-body, match: { path: /nobody }, requestBody: { maxBytes: 0 } }
`,
    requests: [
      { method: 'POST', path: '/upload', body: 'x'.repeat(100) },
      { method: 'POST', path: '/upload', body: 'x'.repeat(101) },
      { method: 'POST', path: '/upload', body: { chunks: ['y'.repeat(60)] } },
      { method: 'POST', path: '/upload', body: { chunks: ['y'.repeat(150)] } },
      { method: 'POST', path: '/upload', body: { chunks: ['z'.repeat(50), 'z'.repeat(50), 'z'.repeat(50)] }, gapMs: 30 },
      { method: 'GET', path: '/upload' },
      { method: 'POST', path: '/nobody', body: '' },
      { method: 'POST', path: '/nobody', body: 'x' },
      { method: 'POST', path: '/nobody', body: { chunks: ['x'] }, gapMs: 30 },
      { method: 'POST', path: '/elsewhere', body: 'x'.repeat(1000) },
      { method: 'POST', path: '/upload', body: { chunks: ['y'.repeat(90)] } },
      { method: 'POST', path: '/upload', body: { chunks: Array<string>(20).fill('y') }, gapMs: 2 },
      { method: 'POST', path: '/nobody', body: { chunks: [] } },
    ],
    expect: [
      { pool: 'main', rule: 'upload', upstreamBody: 'x'.repeat(100) },
      { status: 413, rule: 'upload', termination: 'request-too-large', closed: true, body: /request body too large/ },
      { pool: 'main', rule: 'upload', upstreamBody: 'y'.repeat(60) },
      { status: 413, rule: 'upload', termination: 'request-too-large', closed: true },
      // Streamed: the head went on before the body passed the limit; the real server never gets it whole.
      { status: 413, rule: 'upload', termination: 'request-too-large', closed: true, afterHeadForwarded: true },
      { pool: 'main', rule: 'upload' },
      { pool: 'main', rule: 'no-body', upstreamBody: '' },
      { status: 413, rule: 'no-body', termination: 'request-too-large', closed: true },
      // maxBytes: 0 accepts no body, also one that arrives after the head.
      { status: 413, rule: 'no-body', termination: 'request-too-large', closed: true, afterHeadForwarded: true },
      { pool: 'main', upstreamBody: 'x'.repeat(1000) },
      // A body is its payload: chunk sizes, CRLFs and the last chunk are framing, not body.
      { pool: 'main', rule: 'upload', upstreamBody: 'y'.repeat(90) },
      { pool: 'main', rule: 'upload', upstreamBody: 'y'.repeat(20) },
      { pool: 'main', rule: 'no-body', upstreamBody: '' },
    ],
  },
]);
