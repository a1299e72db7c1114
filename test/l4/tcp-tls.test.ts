// tls on a tcp service: the handshake after the PROXY header, certificates by SNI, decrypted
// bytes both ways to a real server that speaks no TLS, and a failed or unfinished handshake in
// the connection log (client-tls-failed) with no real server bothered.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { readBytes, startRawBackend, startTcpService, tcpYaml, waitFor, type RawBackend, type TcpService } from './tcp-harness.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'tls');
const ROOT_CA = readFileSync(path.join(FIXTURES, 'root-ca.pem'));
const fixture = (name: string): string => path.join(FIXTURES, name);

describe('tls on a tcp service', () => {
  let echo: RawBackend;
  let service: TcpService;

  before(async () => {
    echo = await startRawBackend('caster');
    service = await startTcpService(
      tcpYaml(
        [
          'acceptProxyProtocol: true',
          'tls:',
          `  certificates: [ { cert: ${fixture('www.surveyor.lab.rsa.pem')}, key: ${fixture('www.surveyor.lab.rsa.key')} }, { cert: ${fixture('multi.lab.pem')}, key: ${fixture('multi.lab.key')} } ]`,
          '  handshakeTimeout: 300ms',
        ],
        [echo.address],
      ),
    );
  });
  after(async () => {
    await service.stop();
    await echo.close();
  });

  it('relays decrypted bytes both ways, with the certificate the client named', async () => {
    const raw = net.connect(service.port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write('PROXY TCP4 203.0.113.9 127.0.0.1 5000 2101\r\n');
    const socket = tls.connect({ socket: raw, servername: 'a.multi.lab', ca: ROOT_CA });
    await once(socket, 'secureConnect');
    assert.match(socket.getPeerCertificate().subjectaltname ?? '', /a\.multi\.lab/);
    assert.equal(socket.alpnProtocol, false, 'a tcp service offers no ALPN');
    assert.equal((await readBytes(socket as unknown as net.Socket, 'line')).toString(), 'caster\n');
    socket.write('GET /MOUNT HTTP/1.0\r\n');
    assert.equal((await readBytes(socket as unknown as net.Socket, 'line')).toString(), 'GET /MOUNT HTTP/1.0\r\n', 'the real server got it in clear and echoed it');
    socket.end();
    await once(socket, 'close');
    await waitFor(() => service.access.some((r) => r.termination === 'ok'), 'the connection line');
    const line = service.access.find((r) => r.termination === 'ok')!;
    assert.equal(line.client, '203.0.113.9', 'the client is the PROXY header\'s');
  });

  it('logs a client that does not speak TLS, and one that never finishes, as client-tls-failed', async () => {
    const before = service.access.length;
    const plain = net.connect(service.port, '127.0.0.1');
    await once(plain, 'connect');
    plain.write('PROXY TCP4 198.51.100.1 127.0.0.1 5000 2101\r\nSOURCE pass /MOUNT\r\n');
    plain.resume();
    await once(plain, 'close');
    const silent = net.connect(service.port, '127.0.0.1');
    await once(silent, 'connect');
    silent.write('PROXY TCP4 198.51.100.2 127.0.0.1 5000 2101\r\n');
    silent.resume();
    await once(silent, 'close');
    await waitFor(() => service.access.length >= before + 2, 'two connection lines');
    const lines = service.access.slice(before);
    assert.deepEqual(
      lines.map((r) => [r.client, r.termination]).sort(),
      [
        ['198.51.100.1', 'client-tls-failed'],
        ['198.51.100.2', 'client-tls-failed'],
      ],
    );
    assert.match(lines.find((r) => r.client === '198.51.100.2')!.error ?? '', /timed out/);
    assert.equal(echo.accepted, 1, 'no real server saw either');
  });
});
