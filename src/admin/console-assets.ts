/**
 * The web console's files on the admin listener: `/` (index.html), `/console/...` (the console/
 * folder) and `/vendor/...` (Preact, htm and uPlot from node_modules, by an explicit allow-list).
 *
 * Every file is read once, when the admin server starts, into a map keyed by its URL path; a
 * request is answered from that map or not at all, so no request path ever reaches the file
 * system (no traversal, symlink or encoding trick can name a file outside the list). The console
 * is a few hundred kilobytes, so holding it costs less than reading it per request.
 *
 * index.html's inline import map (browsers do not load external ones) is allowed by its sha256 in
 * the Content-Security-Policy, computed here from the file, so the policy needs no 'unsafe-inline'
 * for scripts.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAssets {
  /** Answers a console path and returns true; returns false (and writes nothing) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** What the console may serve from node_modules: URL name -> a file of a resolved package. */
function vendorFiles(): Array<[string, string]> {
  const file = (specifier: string): string => fileURLToPath(import.meta.resolve(specifier));
  const preact = file('preact');
  const hooks = file('preact/hooks');
  // uplot's "main" is its CommonJS build; the ES module and the style sheet sit beside it.
  const uplotDir = dirname(file('uplot'));
  return [
    ['preact.mjs', preact],
    ['preact.mjs.map', `${preact}.map`],
    ['preact-hooks.mjs', hooks],
    ['hooks.mjs.map', `${hooks}.map`],
    ['htm.mjs', file('htm')],
    ['htm-preact.mjs', file('htm/preact')],
    ['uPlot.esm.js', join(uplotDir, 'uPlot.esm.js')],
    ['uPlot.min.css', join(uplotDir, 'uPlot.min.css')],
  ];
}

const BASE_POLICY = ["default-src 'self'", "img-src 'self' data:", "style-src 'self' 'unsafe-inline'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"];

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function createConsoleAssets(options: { consoleDir?: string } = {}): ConsoleAssets {
  const dir = options.consoleDir ?? CONSOLE_DIR;
  const assets = new Map<string, Asset>();
  for (const file of walk(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    assets.set(`/console/${rel}`, asset(readFileSync(file), file));
  }
  for (const [name, file] of vendorFiles()) {
    try {
      assets.set(`/vendor/${name}`, asset(readFileSync(file), file));
    } catch (error) {
      // A source map is a debugging aid; the modules themselves are required.
      if (!name.endsWith('.map')) throw new Error(`the web console needs ${file} (run npm install): ${(error as Error).message}`);
    }
  }
  const index = assets.get('/console/index.html');
  if (index === undefined) throw new Error(`the web console has no index.html in ${dir}`);
  assets.set('/', index);
  assets.set('/index.html', index);
  const policy = contentSecurityPolicy(index.body.toString('utf8'));

  return {
    handle(req, res) {
      const path = consolePath(req.url ?? '/');
      if (path === null) return false;
      const found = assets.get(path);
      if (found === undefined) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
        res.end('the web console takes GET and HEAD\n');
        return true;
      }
      const headers: Record<string, string | number> = {
        ...SECURITY_HEADERS,
        'content-security-policy': policy,
        'content-type': found.type,
        etag: found.etag,
        // The files have no content hash in their names, so a browser revalidates each (a 304 is cheap).
        'cache-control': 'no-cache',
      };
      if (matchesEtag(req.headers['if-none-match'], found.etag)) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      headers['content-length'] = found.body.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : found.body);
      return true;
    },
  };
}

/** The request's path when it may name a console file: null for anything else or anything odd. */
export function consolePath(url: string): string | null {
  const path = url.split('?')[0]?.split('#')[0] ?? '';
  if (path !== '/' && path !== '/index.html' && !path.startsWith('/console/') && !path.startsWith('/vendor/')) return null;
  // The map lookup already confines requests to the listed files; these are refused by name so a
  // probe is visibly a miss, whatever a future change to the lookup does.
  if (path.includes('..') || path.includes('\\') || path.includes('\0') || path.includes('//') || /%/.test(path)) return null;
  return path;
}

function asset(body: Buffer, file: string): Asset {
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type, etag };
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    // Only regular files: a symlink could point anywhere.
    else if (entry.isFile() && extname(entry.name) !== '.md' && !entry.name.endsWith('.d.ts')) yield full;
  }
}

/** The policy, with script-src allowing each inline script of index.html (its import map) by hash. */
export function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    .filter((m) => (m[1] ?? '').trim() !== '')
    .map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '').digest('base64')}'`);
  const policy = [...BASE_POLICY];
  if (hashes.length > 0) policy.splice(1, 0, `script-src 'self' ${hashes.join(' ')}`);
  return policy.join('; ');
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
