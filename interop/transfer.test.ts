// Large bodies through Fulcrum in both directions, checked end to end with SHA-256.
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBackends, type Backends, type ChecksumReply } from '../test/helpers/backends.ts';
import { configYaml, freePort, startFulcrum, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { startProcess, teardown } from '../test/helpers/processes.ts';
import { curl, curlSha256 } from './curl.ts';
import { startNginx, type Nginx } from './nginx.ts';
import { peer, requirePeers } from './peers.ts';

const MiB = 1024 * 1024;
const BIG = 256 * MiB;

/** Writes `bytes` of random data (so no block repeats and a lost or doubled chunk changes the hash). */
async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let left = bytes; left > 0; ) {
    const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(4 * MiB, left)));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

describe('256 MiB bodies through Fulcrum', () => {
  let workDir = '';
  let bigSha = '';
  let nginx: Nginx | undefined;
  let backends: Backends | undefined;
  let fulcrum: Fulcrum | undefined;
  let downloadUrl = '';
  let uploadUrl = '';

  before(async () => {
    requirePeers('curl', 'nginx');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-transfer-'));
    bigSha = await writeRandomFile(path.join(workDir, 'big.bin'), BIG);
    nginx = await startNginx({ name: 'nginx-files', filesDir: workDir });
    backends = await startBackends(1, { prefix: 'upload' });
    const [downPort, upPort] = [await freePort(), await freePort()];
    downloadUrl = `http://127.0.0.1:${downPort}/files/big.bin`;
    uploadUrl = `http://127.0.0.1:${upPort}/sha256`;
    fulcrum = await startFulcrum({
      config: configYaml({
        virtualServices: [
          { name: 'download', listen: `127.0.0.1:${downPort}`, realServers: [nginx.address] },
          { name: 'upload', listen: `127.0.0.1:${upPort}`, realServers: [backends.servers[0]!.address] },
        ],
      }),
    });
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => nginx?.stop(),
      () => backends?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  it('downloads a 256 MiB file from nginx with the same SHA-256', { timeout: 120_000 }, async () => {
    const { sha256, bytes } = await curlSha256(['--fail', downloadUrl]);
    assert.equal(bytes, BIG);
    assert.equal(sha256, bigSha);
  });

  it('uploads a 256 MiB file (Content-Length) to a Node backend with the same SHA-256', { timeout: 120_000 }, async () => {
    const { stdout } = await curl(['--fail', '-T', path.join(workDir, 'big.bin'), uploadUrl], { timeoutMs: 120_000 });
    const reply = JSON.parse(stdout) as ChecksumReply;
    assert.equal(reply.method, 'PUT');
    assert.equal(reply.chunked, false);
    assert.equal(reply.bytes, BIG);
    assert.equal(reply.sha256, bigSha);
  });

  it('uploads 32 MiB chunked (no Content-Length) from curl stdin with the same SHA-256', { timeout: 60_000 }, async () => {
    const size = 32 * MiB + 123; // not a multiple of any buffer size
    const data = randomFillSync(Buffer.allocUnsafe(size));
    const curlProc = startProcess('curl', peer('curl'), ['-sS', '--fail', '-X', 'POST', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', uploadUrl], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    curlProc.child.stdin?.end(data);
    const exit = await curlProc.exited;
    assert.equal(exit.code, 0, curlProc.output.stderr);
    const reply = JSON.parse(curlProc.output.stdout) as ChecksumReply;
    assert.equal(reply.method, 'POST');
    assert.equal(reply.chunked, true);
    assert.equal(reply.bytes, size);
    assert.equal(reply.sha256, createHash('sha256').update(data).digest('hex'));
  });
});
