// The SNI name read from raw ClientHello bytes, on hellos that Node's own client sent to a plain
// TCP server: whole, cut anywhere, spread over many records, and broken in every way a byte
// mutation can break it (never a throw).
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import tls from 'node:tls';
import { readClientHello, readServerName } from '../../src/tls/client-hello.ts';

/** The first bytes a Node TLS client sends: its ClientHello. */
async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const received = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const bytes = Buffer.concat(chunks);
        if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) {
          resolve(bytes);
          socket.destroy();
        }
      });
    });
  });
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...options });
  client.on('error', () => {});
  const hello = await received;
  client.destroy();
  server.close();
  return hello;
}

/** The same handshake bytes in records of at most `size` bytes. */
function refragment(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5);
  const records: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const fragment = body.subarray(at, at + size);
    const header = Buffer.from([22, 3, 1, 0, 0]);
    header.writeUInt16BE(fragment.length, 3);
    records.push(header, fragment);
  }
  return Buffer.concat(records);
}

describe('ClientHellos from Node', () => {
  let named: Buffer;
  let unnamed: Buffer;
  let tls12: Buffer;
  before(async () => {
    named = await captureHello({ servername: 'WWW.Surveyor.lab' });
    unnamed = await captureHello({});
    tls12 = await captureHello({ servername: 'a.multi.lab', maxVersion: 'TLSv1.2' });
  });

  it('the name as sent, or null without SNI', () => {
    assert.deepEqual(readServerName(named), { state: 'done', servername: 'WWW.Surveyor.lab' });
    assert.deepEqual(readServerName(unnamed), { state: 'done', servername: null });
    assert.deepEqual(readServerName(tls12), { state: 'done', servername: 'a.multi.lab' });
  });

  it('readClientHello: the name and the ALPN protocols offered (ACME tls-alpn-01 looks for acme-tls/1)', async () => {
    const acme = await captureHello({ servername: 'www.example.com', ALPNProtocols: ['acme-tls/1'] });
    assert.deepEqual(readClientHello(acme), { state: 'done', servername: 'www.example.com', alpn: ['acme-tls/1'] });
    const browser = await captureHello({ servername: 'www.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.deepEqual(readClientHello(browser), { state: 'done', servername: 'www.example.com', alpn: ['h2', 'http/1.1'] });
    assert.deepEqual(readClientHello(unnamed), { state: 'done', servername: null, alpn: [] });
    assert.deepEqual(readClientHello(acme.subarray(0, 20)), { state: 'incomplete' });
  });

  it('a post-quantum key share makes the hello over 1 KiB, still one record', () => {
    assert.ok(named.length > 1024, `${named.length} bytes`);
    assert.equal(named.length, 5 + named.readUInt16BE(3));
  });

  it('incomplete at every cut short of the whole', () => {
    for (let cut = 0; cut < named.length; cut++) {
      assert.deepEqual(readServerName(named.subarray(0, cut)), { state: 'incomplete' }, `cut at ${cut}`);
    }
  });

  it('the same hello in many records, and the bytes that follow it ignored', () => {
    for (const size of [1, 7, 100, 1000]) {
      const spread = refragment(named, size);
      assert.deepEqual(readServerName(spread), { state: 'done', servername: 'WWW.Surveyor.lab' }, `records of ${size} bytes`);
      assert.deepEqual(readServerName(spread.subarray(0, spread.length - 1)), { state: 'incomplete' }, `records of ${size} bytes, one short`);
    }
    assert.deepEqual(readServerName(Buffer.concat([named, Buffer.from([21, 3, 3, 0, 2, 1, 0])])), { state: 'done', servername: 'WWW.Surveyor.lab' });
  });

  it('invalid: plain HTTP, another record type, another handshake message, a record too long', () => {
    assert.deepEqual(readServerName(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), { state: 'invalid' });
    assert.deepEqual(readServerName(Buffer.from([23, 3, 3, 0, 5, 1, 2, 3, 4, 5])), { state: 'invalid' });
    const serverHello = Buffer.from(named);
    serverHello[5] = 2;
    assert.deepEqual(readServerName(serverHello), { state: 'invalid' });
    assert.deepEqual(readServerName(Buffer.from([22, 3, 1, 0x40, 0x01])), { state: 'invalid' });
  });

  it('invalid: an extensions block longer than the hello that holds it', () => {
    // The last 10 bytes dropped, the record and handshake lengths made to agree, the extensions'
    // own length left as it was.
    const short = Buffer.from(named.subarray(0, named.length - 10));
    short.writeUInt16BE(short.length - 5, 3);
    short.writeUIntBE(short.length - 9, 6, 3);
    assert.deepEqual(readServerName(short), { state: 'invalid' });
  });

  it('never throws on a mutated hello', () => {
    for (let i = 0; i < 5000; i++) {
      const mutated = Buffer.from(i % 2 === 0 ? named : tls12);
      for (let n = randomInt(1, 4); n > 0; n--) mutated[randomInt(mutated.length)] = randomInt(256);
      const cut = mutated.subarray(0, randomInt(mutated.length + 1));
      assert.doesNotThrow(() => readServerName(cut));
    }
  });
});
