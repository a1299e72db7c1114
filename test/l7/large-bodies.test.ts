// A 1 GiB upload and a 1 GiB download through the real `fulcrum` process arrive byte-identical
// while the worker's resident memory grows by less than 64 MiB: bodies are streamed with
// backpressure, never buffered. The worker runs in its own process so its RSS is its own.
// Regression: a fast transfer alone used to grow the worker by ~67 MiB of dead 64 KiB socket read
// buffers, which V8 collects only every 64 MiB of external memory (see engine-context.ts).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { configYaml, freePort, rssKiB, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { listenLocal } from './harness.ts';

const GiB = 1024 * 1024 * 1024;
const BLOCK = randomBytes(1024 * 1024 + 7); // odd size, so block edges never line up with socket reads
const LIMIT_KIB = 64 * 1024;
/** How long a reader stalls in the backpressure tests: long enough to buffer hundreds of MiB. */
const STALL_MS = 1500;

/** Samples the RSS of `pid` every 50 ms until stopped; returns the peak in KiB. */
function sampleRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssKiB(pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return Math.max(peak, await rssKiB(pid));
    },
  };
}

/** Writes `total` bytes of repeated BLOCK to `out` with backpressure; returns their sha256. */
async function writeBig(out: NodeJS.WritableStream, total: number): Promise<string> {
  const hash = createHash('sha256');
  let sent = 0;
  while (sent < total) {
    const n = Math.min(BLOCK.length, total - sent);
    const piece = n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n);
    hash.update(piece);
    sent += n;
    if (!out.write(piece)) await once(out, 'drain');
  }
  return hash.digest('hex');
}

describe('1 GiB bodies through a worker process', { timeout: 120_000 }, () => {
  let real: http.Server;
  let fulcrum: Fulcrum;
  let port: number;
  let worker: number;
  let baseline: number;

  before(async () => {
    real = http.createServer((req, res) => {
      if (req.url === '/upload') {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
        });
        req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
        return;
      }
      if (req.url === '/upload-stalled') {
        // Reads nothing for a while: the proxy must stop reading from the client, not buffer.
        req.pause();
        setTimeout(() => {
          const hash = createHash('sha256');
          let bytes = 0;
          req.on('data', (c: Buffer) => {
            bytes += c.length;
            hash.update(c);
          });
          req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
          req.resume();
        }, STALL_MS);
        return;
      }
      if (req.url === '/download' || req.url === '/download-chunked') {
        const chunked = req.url === '/download-chunked';
        res.writeHead(200, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-length': GiB, 'content-type': 'application/octet-stream' });
        void writeBig(res, GiB).then((sha) => res.end(() => real.emit('sent', sha)));
        return;
      }
      res.end('ok');
    });
    const address = await listenLocal(real);
    port = await freePort();
    fulcrum = await startFulcrum({
      config: configYaml({ virtualServices: [{ name: 'bulk', listen: `127.0.0.1:${port}`, realServers: [address] }] }),
    });
    assert.equal(fulcrum.workers.length, 1);
    worker = fulcrum.workers[0]!;
    // Warm up the code paths (JIT, pools) before taking the baseline.
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/warm`);
      await r.text();
    }
    baseline = await rssKiB(worker);
  });
  after(async () => {
    await fulcrum?.stop();
    real?.closeAllConnections();
    real?.close();
  });

  it('uploads 1 GiB (Content-Length) byte-identical with worker RSS growth < 64 MiB', async (t) => {
    const rss = sampleRss(worker);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', headers: { 'content-length': GiB } });
    const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
    const sentSha = await writeBig(req, GiB);
    req.end();
    const [res] = await response;
    let text = '';
    for await (const c of res) text += c;
    const peak = await rss.stop();
    t.diagnostic(`worker RSS ${(baseline / 1024).toFixed(1)} MiB -> peak ${(peak / 1024).toFixed(1)} MiB`);
    const reply = JSON.parse(text) as { bytes: number; sha256: string };
    assert.equal(reply.bytes, GiB);
    assert.equal(reply.sha256, sentSha);
    assert.ok(peak - baseline < LIMIT_KIB, `worker RSS grew by ${((peak - baseline) / 1024).toFixed(1)} MiB (baseline ${(baseline / 1024).toFixed(1)} MiB)`);
  });

  for (const [name, path, stall] of [
    ['downloads 1 GiB (Content-Length)', '/download', 0],
    ['downloads 1 GiB (chunked) to a client that stalls first', '/download-chunked', STALL_MS],
  ] as const) {
    it(`${name} byte-identical with worker RSS growth < 64 MiB`, async (t) => {
      const rss = sampleRss(worker);
      const sent = once(real, 'sent') as Promise<[string]>;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path }, resolve).on('error', reject);
      });
      assert.equal(res.statusCode, 200);
      if (stall > 0) {
        res.pause();
        await new Promise((r) => setTimeout(r, stall));
      }
      assert.equal(res.headers['content-length'], path === '/download' ? String(GiB) : undefined);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const c of res as AsyncIterable<Buffer>) {
        bytes += c.length;
        hash.update(c);
      }
      const peak = await rss.stop();
      t.diagnostic(`worker RSS ${(baseline / 1024).toFixed(1)} MiB -> peak ${(peak / 1024).toFixed(1)} MiB`);
      const [sentSha] = await sent;
      assert.equal(bytes, GiB);
      assert.equal(hash.digest('hex'), sentSha);
      assert.ok(peak - baseline < LIMIT_KIB, `worker RSS grew by ${((peak - baseline) / 1024).toFixed(1)} MiB (baseline ${(baseline / 1024).toFixed(1)} MiB)`);
    });
  }

  it('uploads 256 MiB to a real server that stalls first, byte-identical with worker RSS growth < 64 MiB', async (t) => {
    const total = 256 * 1024 * 1024;
    const rss = sampleRss(worker);
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/upload-stalled', headers: { 'transfer-encoding': 'chunked' } });
    const response = once(req, 'response') as Promise<[http.IncomingMessage]>;
    const sentSha = await writeBig(req, total);
    req.end();
    const [res] = await response;
    let text = '';
    for await (const c of res) text += c;
    const peak = await rss.stop();
    t.diagnostic(`worker RSS ${(baseline / 1024).toFixed(1)} MiB -> peak ${(peak / 1024).toFixed(1)} MiB`);
    const reply = JSON.parse(text) as { bytes: number; sha256: string };
    assert.equal(reply.bytes, total);
    assert.equal(reply.sha256, sentSha);
    assert.ok(peak - baseline < LIMIT_KIB, `worker RSS grew by ${((peak - baseline) / 1024).toFixed(1)} MiB`);
  });
});
