// Every way an exchange can fail ends with a stable termination code in the access log, the
// client reads a short reason naming the virtual service and never an internal address or errno,
// and a throw inside the upstream path (the response parser included) is a 502 for that exchange
// only: the worker keeps serving everyone else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRawServer } from '../helpers/backends.ts';
import { startBlackhole } from '../helpers/blackhole.ts';
import { Http1Forwarder } from '../../src/upstream/http1-forwarder.ts';
import { rawExchange, refusedAddress, startProxy, type ServiceSpec } from '../l7/harness.ts';

interface Fault {
  name: string;
  spec: () => Promise<{ spec: ServiceSpec; address: string; close: () => Promise<void> }>;
  status: number | 'cut';
  termination: string;
}

const raw = (options: Parameters<typeof startRawServer>[0], extra: Partial<ServiceSpec> = {}) => async () => {
  const server = await startRawServer(options);
  return { spec: { realServers: [server.address], retries: 0, ...extra }, address: server.address, close: () => server.close() };
};

const FAULTS: Fault[] = [
  {
    name: 'connect refused',
    spec: async () => {
      const address = await refusedAddress();
      return { spec: { realServers: [address], retries: 0 }, address, close: async () => {} };
    },
    status: 502,
    termination: 'upstream-connect-refused',
  },
  {
    name: 'connect timeout',
    spec: async () => {
      const hole = await startBlackhole();
      return { spec: { realServers: [hole.address], retries: 0, timeouts: { connect: '300ms' } }, address: hole.address, close: () => hole.close() };
    },
    status: 504,
    termination: 'upstream-connect-timeout',
  },
  { name: 'response timeout', spec: raw({ onRequest: () => {} }, { timeouts: { response: '300ms' } }), status: 504, termination: 'upstream-response-timeout' },
  { name: 'reset before a response', spec: raw({ onRequest: (_req, socket) => socket.resetAndDestroy() }), status: 502, termination: 'upstream-reset' },
  {
    name: 'reset mid-body',
    spec: raw({
      onRequest: (_req, socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npart of it');
        setTimeout(() => socket.resetAndDestroy(), 50);
      },
    }),
    status: 'cut',
    termination: 'upstream-reset',
  },
  { name: 'malformed response', spec: raw({ response: 'HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n' }), status: 502, termination: 'upstream-malformed-response' },
];

describe('termination codes and error bodies', () => {
  for (const fault of FAULTS) {
    it(`${fault.name}: ${fault.status === 'cut' ? 'the client is cut' : fault.status}, termination ${fault.termination}, no address in what the client reads`, async () => {
      const { spec, address, close } = await fault.spec();
      const proxy = await startProxy({ name: 'shop', ...spec });
      try {
        const r = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
        if (fault.status === 'cut') {
          assert.equal(r.closed, true);
          assert.match(r.text, /^HTTP\/1\.1 200 OK/);
        } else {
          assert.match(r.text, new RegExp(`^HTTP/1\\.1 ${fault.status} `));
          assert.match(r.text, /\(virtual service "shop"\)\n$/);
        }
        const port = address.split(':').at(-1)!;
        assert.doesNotMatch(r.text, new RegExp(`127\\.0\\.0\\.1|:${port}\\b|E[A-Z]{4,}`), 'no internal address or errno reaches the client');
        const [line] = await proxy.accessLog(1);
        assert.equal(line?.termination, fault.termination);
        assert.ok((line?.error ?? '').length > 0, 'the log carries the detail');
        if (fault.status !== 'cut') assert.equal(line?.status, fault.status);
      } finally {
        await proxy.close();
        await close();
      }
    });
  }

  it('a throw inside the response parser is a 502 for that exchange, logged; the worker serves the next request', async () => {
    const server = await startRawServer({ response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' });
    const proxy = await startProxy({ name: 'shop', realServers: [server.address] });
    const parse = Object.getOwnPropertyDescriptor(Http1Forwarder.prototype, 'readResponseHead')!;
    let throws = 1;
    Object.defineProperty(Http1Forwarder.prototype, 'readResponseHead', {
      ...parse,
      value: function (this: Http1Forwarder, data: Buffer, from: number): void {
        if (throws-- > 0) throw new Error('parser bug (injected)');
        (parse.value as (data: Buffer, from: number) => void).call(this, data, from);
      },
    });
    try {
      const failed = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
      assert.match(failed.text, /^HTTP\/1\.1 502 /);
      assert.match(failed.text, /internal error \(virtual service "shop"\)/);
      assert.doesNotMatch(failed.text, /parser bug/, 'the client never reads our internals');
      const ok = await rawExchange(proxy.port, 'GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 });
      assert.match(ok.text, /^HTTP\/1\.1 200 OK/);
      const [first, second] = await proxy.accessLog(2);
      assert.equal(first?.termination, 'internal-error');
      assert.match(first?.error ?? '', /parser bug \(injected\)/);
      assert.equal(second?.termination, 'ok');
    } finally {
      Object.defineProperty(Http1Forwarder.prototype, 'readResponseHead', parse);
      await proxy.close();
      await server.close();
    }
  });
});
