/**
 * The worker runtime with every protocol at once: one config of http, tcp, udp and ftp services
 * is applied, reloaded (an address changing protocol), counted for the admin API and drained.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import { WorkerRuntime } from '../../src/worker/runtime.ts';
import { freePort } from '../helpers/processes.ts';
import { connectTo, readBytes, startRawBackend, closed } from './tcp-harness.ts';

function config(text: string) {
  const result = loadConfigText(text, 'runtime.yaml');
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.config;
}

describe('worker runtime with Layer 4 services', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('runs tcp, udp and ftp beside http, counts their clients, switches an address from tcp to http on reload, and drains', async () => {
    const echo = await startRawBackend('echo');
    const udpServer = dgram.createSocket('udp4');
    udpServer.on('message', (msg, rinfo) => udpServer.send(Buffer.concat([Buffer.from('udp:'), msg]), rinfo.port, rinfo.address));
    udpServer.bind(0, '127.0.0.1');
    await once(udpServer, 'listening');
    const http = await startRawBackend('http', (socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'));
    });
    cleanup.push(echo.close, http.close, async () => udpServer.close());
    const [tcpPort, udpPort, ftpPort, passive] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const services = (tcpProtocol: 'tcp' | 'http'): string =>
      [
        'accessLog: off',
        'virtualServices:',
        `  - { name: stream, listen: 127.0.0.1:${tcpPort}, protocol: ${tcpProtocol}, realServers: [ { address: ${tcpProtocol === 'tcp' ? echo.address : http.address} } ] }`,
        `  - { name: dgram, listen: 127.0.0.1:${udpPort}, protocol: udp, realServers: [ { address: 127.0.0.1:${(udpServer.address() as { port: number }).port} } ] }`,
        // The same port number over UDP as the tcp service: they do not clash.
        `  - { name: dgram-too, listen: 127.0.0.1:${tcpPort}, protocol: udp, realServers: [ { address: 127.0.0.1:${(udpServer.address() as { port: number }).port} } ] }`,
        `  - { name: files, listen: 127.0.0.1:${ftpPort}, protocol: ftp, ftp: { passivePorts: ${passive}-${passive} }, realServers: [ { address: ${echo.address} } ] }`,
      ].join('\n');
    const runtime = new WorkerRuntime();
    await runtime.apply(config(services('tcp')));
    const tcpClient = await connectTo(tcpPort);
    assert.equal((await readBytes(tcpClient, 'line')).toString(), 'echo\n');
    const udpClient = dgram.createSocket('udp4');
    cleanup.push(async () => udpClient.close());
    udpClient.send('ping', udpPort, '127.0.0.1');
    const [reply, from] = (await once(udpClient, 'message')) as [Buffer, dgram.RemoteInfo];
    assert.equal(reply.toString(), 'udp:ping');
    assert.equal(from.port, udpPort, 'the reply comes from the virtual service');
    udpClient.send('pong', tcpPort, '127.0.0.1');
    const [second] = (await once(udpClient, 'message')) as [Buffer];
    assert.equal(second.toString(), 'udp:pong');
    const stats = new Map(runtime.stats().virtualServices.map((s) => [s.name, s]));
    assert.equal(stats.get('stream')?.clientConnections, 1);
    assert.equal(stats.get('dgram')?.clientConnections, 1, 'one UDP session');
    assert.equal(runtime.stats().pools.find((p) => p.name === 'stream')?.realServers[0]?.inflight, 1);

    // The tcp address becomes http: the established tcp connection carries on, new ones speak HTTP.
    await runtime.apply(config(services('http')));
    tcpClient.write('still tcp\n');
    assert.equal((await readBytes(tcpClient, 'line')).toString(), 'still tcp\n');
    const httpClient = await connectTo(tcpPort);
    httpClient.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match((await readBytes(httpClient, 'line')).toString(), /^HTTP\/1\.1 200/);
    httpClient.destroy();

    const drained = runtime.drain(500);
    const gone = closed(tcpClient);
    assert.equal(await drained, false, 'the tcp connection was still open at the end of the grace period: cut');
    await gone;
  });

  it('a reload that changes an address\'s protocol and then fails to bind another keeps the running service', async () => {
    const echo = await startRawBackend('echo');
    const taken = await startRawBackend('squatter');
    cleanup.push(echo.close, taken.close);
    const port = await freePort();
    const runtime = new WorkerRuntime();
    cleanup.push(() => runtime.drain(100));
    await runtime.apply(config(`accessLog: off\nvirtualServices:\n  - { name: a, listen: 127.0.0.1:${port}, protocol: tcp, realServers: [ { address: ${echo.address} } ] }`));
    const next = [
      'accessLog: off',
      'virtualServices:',
      `  - { name: a, listen: 127.0.0.1:${port}, protocol: http, realServers: [ { address: ${echo.address} } ] }`,
      `  - { name: b, listen: ${taken.address}, protocol: tcp, realServers: [ { address: ${echo.address} } ] }`,
    ].join('\n');
    await assert.rejects(runtime.apply(config(next)), /EADDRINUSE/);
    const client = await connectTo(port);
    assert.equal((await readBytes(client, 'line')).toString(), 'echo\n', 'the tcp service still answers');
    client.destroy();
  });
});

