/**
 * NTRIP through a tcp virtual service, as the protocol specifications write the exchanges: an
 * NTRIP 1.0 server pushes with SOURCE and gets ICY 200 OK, an NTRIP 1.0 rover asks with GET and
 * gets ICY 200 OK then the raw stream, an NTRIP 2.0 rover gets HTTP/1.1 chunked. The caster is the
 * interop suite's (interop/ntrip-caster.ts, Node only); the bytes must pass untouched.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { rtcm3Frames } from '../../interop/ntrip.ts';
import { startNtripCaster } from '../../interop/ntrip-caster.ts';
import { connectTo, readBytes, startTcpService, tcpYaml } from './tcp-harness.ts';

describe('NTRIP through a tcp virtual service', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('carries NTRIP 1.0 SOURCE and GET, and an NTRIP 2.0 chunked client, byte for byte, while the stream goes on', async () => {
    const caster = await startNtripCaster(0, 'MOUNT1', { sourcePassword: 'secret' });
    const svc = await startTcpService(tcpYaml(['timeouts: { idle: 1h }', 'persistence: { type: source-ip, timeout: 30m }'], [caster.address]));
    cleanup.push(caster.close, svc.stop);

    const rover = await connectTo(svc.port);
    rover.write('GET /MOUNT1 HTTP/1.0\r\nUser-Agent: NTRIP test/1.0\r\n\r\n');
    assert.equal((await readBytes(rover, 'line')).toString(), 'ICY 200 OK\r\n');
    const rover2 = await connectTo(svc.port);
    rover2.write('GET /MOUNT1 HTTP/1.1\r\nHost: caster\r\nNtrip-Version: Ntrip/2.0\r\nUser-Agent: NTRIP test/2.0\r\n\r\n');
    assert.match((await readBytes(rover2, 'line')).toString(), /^HTTP\/1\.1 200 OK\r\n$/);
    await caster.waitForClients(2);

    const source = await connectTo(svc.port);
    source.write('SOURCE secret /MOUNT1\r\nSource-Agent: NTRIP test/1.0\r\n\r\n');
    assert.equal((await readBytes(source, 'line')).toString(), 'ICY 200 OK\r\n');
    let sent = Buffer.alloc(0);
    let received = Buffer.alloc(0);
    for (let round = 0; round < 5; round++) {
      const frames = rtcm3Frames(50, 100 + round);
      source.write(frames);
      sent = Buffer.concat([sent, frames]);
      received = Buffer.concat([received, await readBytes(rover, frames.length)]);
    }
    assert.ok(received.equals(sent), 'the NTRIP 1.0 rover got the raw stream, unchanged');
    // The NTRIP 2.0 rover's stream is chunked by the caster; strip the framing and compare.
    // The rest of the response head: header lines up to the blank one.
    while ((await readBytes(rover2, 'line')).toString() !== '\r\n');
    let body = Buffer.alloc(0);
    while (body.length < sent.length) {
      const size = parseInt((await readBytes(rover2, 'line')).toString().trim(), 16);
      body = Buffer.concat([body, await readBytes(rover2, size)]);
      await readBytes(rover2, 2);
    }
    assert.ok(body.equals(sent), 'the NTRIP 2.0 rover got the same stream, chunked');
    for (const s of [rover, rover2, source]) s.destroy();
  });
});
