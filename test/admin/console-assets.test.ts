import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { consolePath, createConsoleAssets } from '../../src/admin/console-assets.ts';

const INDEX = readFileSync(fileURLToPath(new URL('../../console/index.html', import.meta.url)), 'utf8');
let server: Server;
let port: number;

before(async () => {
  const assets = createConsoleAssets();
  server = createServer((req, res) => {
    if (assets.handle(req, res)) return;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"NOT_CONSOLE"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: the path goes on the wire as written (fetch would normalise "..", "//" and "%2e"). */
function send(method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/ serves index.html with the security headers and no-cache', async () => {
  const r = await send('GET', '/');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.body, INDEX);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['cache-control'], 'no-cache');
  const csp = String(r.headers['content-security-policy']);
  for (const directive of ["default-src 'self'", "img-src 'self' data:", "style-src 'self' 'unsafe-inline'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
    assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  }
  assert.equal((await send('GET', '/index.html')).body, INDEX);
});

test('the policy allows the inline import map by its sha256 and nothing else inline', async () => {
  const start = INDEX.indexOf('<script type="importmap">') + '<script type="importmap">'.length;
  const map = INDEX.slice(start, INDEX.indexOf('</script>', start));
  const hash = createHash('sha256').update(map).digest('base64');
  const csp = String((await send('GET', '/')).headers['content-security-policy']);
  assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, '\\$&')}'(;|$)`));
  assert.ok(!csp.includes('unsafe-inline\'; script') && !/script-src[^;]*unsafe-inline/.test(csp));
  // Every bare specifier the console imports resolves through the map to a served file.
  const imports = (JSON.parse(map) as { imports: Record<string, string> }).imports;
  for (const url of Object.values(imports)) assert.equal((await send('HEAD', url)).status, 200, url);
});

test('console files and vendor modules have their content types', async () => {
  const app = await send('GET', '/console/app.js');
  assert.equal(app.status, 200);
  assert.equal(app.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.match(app.body, /from 'preact'/);
  assert.equal((await send('GET', '/console/styles.css')).headers['content-type'], 'text/css; charset=utf-8');
  const preact = await send('GET', '/vendor/preact.mjs');
  assert.equal(preact.status, 200);
  assert.equal(preact.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.match(preact.body, /export\s*\{/);
  assert.equal((await send('GET', '/vendor/uPlot.min.css')).headers['content-type'], 'text/css; charset=utf-8');
  assert.match((await send('GET', '/vendor/uPlot.esm.js')).body, /export \{ uPlot as default \}/);
});

test('an ETag revalidates to 304; HEAD has headers and no body', async () => {
  const first = await send('GET', '/console/app.js');
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[\w-]{22}"$/);
  const again = await send('GET', '/console/app.js', { 'if-none-match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  assert.equal((await send('GET', '/console/app.js', { 'if-none-match': '"other"' })).status, 200);
  const head = await send('HEAD', '/');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(Number(head.headers['content-length']), Buffer.byteLength(INDEX));
});

test('other methods on a console path get 405 with Allow', async () => {
  const r = await send('POST', '/');
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, HEAD');
});

test('paths outside the list are not console paths: traversal, encodings, NUL, unlisted files', async () => {
  for (const path of [
    '/console/../package.json',
    '/console/%2e%2e/package.json',
    '/console/lib%2fapi.js',
    '/console//app.js',
    '/console/app.js%00',
    '/vendor/../../package.json',
    '/vendor/preact/package.json',
    '/vendor/%2e%2e%2fpackage.json',
    '/console/README.md',
    '/console/lib/schema.d.ts',
    '/console/missing.js',
    '/api/v1/status',
    '/package.json',
  ]) {
    const r = await send('GET', path);
    assert.equal(r.status, 404, path);
    assert.equal(r.body, '{"error":{"code":"NOT_CONSOLE"}}', path);
  }
});

test('consolePath: what may name a console file', () => {
  assert.equal(consolePath('/?x=1'), '/');
  assert.equal(consolePath('/console/app.js?v=2'), '/console/app.js');
  assert.equal(consolePath('/console/a\\b.js'), null);
  assert.equal(consolePath('/console/a%20b.js'), null);
  assert.equal(consolePath('/api/v1/status'), null);
  assert.equal(consolePath('/metrics'), null);
});
