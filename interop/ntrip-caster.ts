/**
 * A minimal NTRIP caster for the interop tests, on node:net. Debian packages no NTRIP caster, and
 * RTKLIB's str2str, the NTRIP server and client the suite uses (ntrip.ts), is a caster only in its
 * own one-way sense: `-out ntripc://` serves str2str's input to clients, and its SOURCE handling
 * is not wired into str2str at all (a SOURCE request to it is answered as a bad client request).
 * A real caster takes both on one port, which is what a balancer sits in front of, so this one does:
 *
 * - NTRIP 1.0 source: `SOURCE PASSWORD /MOUNT` + headers → `ICY 200 OK`, then the stream.
 * - NTRIP 1.0 client: `GET /MOUNT HTTP/1.0` → `ICY 200 OK`, then the stream as sent.
 * - NTRIP 2.0 client: `GET /MOUNT HTTP/1.1` + `Ntrip-Version: Ntrip/2.0` → `HTTP/1.1 200 OK`,
 *   then the stream in chunked transfer encoding.
 * - `GET /` or another mount: the source table (`SOURCETABLE 200 OK` for 1.0, `gnss/sourcetable`
 *   for 2.0), then close.
 * - NTRIP 2.0 sources (`POST /MOUNT`) get 501: no peer in the suite sends one.
 *
 * `ICY 200 OK\r\n` is the whole 1.0 response, without a blank line after it: RTKLIB's client, like
 * BKG's caster, takes every byte after that line as stream data.
 *
 * Clients may connect before the source (the mount is configured, not announced) and stay connected
 * when it leaves; a later source continues the same stream. One source per mount at a time.
 */
import { EventEmitter, once } from 'node:events';
import net from 'node:net';

export interface NtripCasterOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** The password a source must give (`SOURCE PASSWORD /MOUNT`); default: any. */
  sourcePassword?: string;
  /** Basic credentials a client must send; default: none asked. */
  clientCredentials?: { user: string; password: string };
}

export interface NtripCaster {
  host: string;
  port: number;
  /** "HOST:PORT" */
  address: string;
  mount: string;
  /** Bytes received from sources so far. */
  readonly sourceBytes: number;
  /** Clients receiving the stream now. */
  readonly clients: number;
  /** Whether a source is connected now. */
  readonly sourceConnected: boolean;
  /** Everything sources sent after their request, in order. */
  sourceData(): Buffer;
  waitForSource(timeoutMs?: number): Promise<void>;
  waitForClients(count: number, timeoutMs?: number): Promise<void>;
  waitForSourceBytes(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface Client {
  socket: net.Socket;
  chunked: boolean;
}

const SERVER = 'fulcrum-interop-caster/1.0';
const MAX_HEAD = 8192;

/** Listens on `port` (0 for one from the OS) and serves `mount`. */
export async function startNtripCaster(port: number, mount: string, options: NtripCasterOptions = {}): Promise<NtripCaster> {
  const host = options.host ?? '127.0.0.1';
  const mountName = mount.replace(/^\//, '');
  const changes = new EventEmitter();
  const sockets = new Set<net.Socket>();
  const clients = new Set<Client>();
  const received: Buffer[] = [];
  let sourceBytes = 0;
  let source: net.Socket | undefined;

  const changed = (): void => {
    changes.emit('change');
  };

  const relay = (chunk: Buffer): void => {
    received.push(chunk);
    sourceBytes += chunk.length;
    for (const client of clients) {
      if (client.chunked) {
        client.socket.write(`${chunk.length.toString(16)}\r\n`);
        client.socket.write(chunk);
        client.socket.write('\r\n');
      } else {
        client.socket.write(chunk);
      }
    }
    changed();
  };

  const sourceTable = (): string =>
    `STR;${mountName};${mountName};RTCM 3.3;;2;GPS+GLO+GAL+BDS;FULCRUM;XXX;0.00;0.00;0;0;fulcrum-interop;none;` +
    `${options.clientCredentials ? 'B' : 'N'};N;0;\r\nENDSOURCETABLE\r\n`;

  const acceptSource = (socket: net.Socket, requestLine: string, rest: Buffer): void => {
    const [, password = '', requested = ''] = requestLine.split(/\s+/);
    if (requested.replace(/^\//, '') !== mountName || source !== undefined) {
      socket.end('ERROR - Mount Point Taken or Invalid\r\n');
      return;
    }
    if (options.sourcePassword !== undefined && password !== options.sourcePassword) {
      socket.end('ERROR - Bad Password\r\n');
      return;
    }
    socket.write('ICY 200 OK\r\n');
    source = socket;
    socket.on('data', relay);
    socket.once('close', () => {
      if (source === socket) source = undefined;
      changed();
    });
    changed();
    if (rest.length > 0) relay(rest);
  };

  const acceptClient = (socket: net.Socket, requestLine: string, headers: Map<string, string>): void => {
    const [, target = '/'] = requestLine.split(/\s+/);
    const v2 = headers.get('ntrip-version')?.toLowerCase() === 'ntrip/2.0';
    if (target.replace(/^\//, '') !== mountName) {
      const table = sourceTable();
      socket.end(
        v2
          ? `HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nServer: ${SERVER}\r\nContent-Type: gnss/sourcetable\r\nContent-Length: ${table.length}\r\nConnection: close\r\n\r\n${table}`
          : `SOURCETABLE 200 OK\r\nServer: ${SERVER}\r\nContent-Type: text/plain\r\nContent-Length: ${table.length}\r\n\r\n${table}`,
      );
      return;
    }
    if (options.clientCredentials) {
      const { user, password } = options.clientCredentials;
      const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      if (headers.get('authorization') !== expected) {
        socket.end(
          `HTTP/1.${v2 ? '1' : '0'} 401 Unauthorized\r\n${v2 ? 'Ntrip-Version: Ntrip/2.0\r\n' : ''}` +
            `WWW-Authenticate: Basic realm="/${mountName}"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        return;
      }
    }
    socket.write(
      v2
        ? `HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nServer: ${SERVER}\r\nCache-Control: no-store, no-cache, max-age=0\r\n` +
            `Pragma: no-cache\r\nConnection: close\r\nContent-Type: gnss/data\r\nTransfer-Encoding: chunked\r\n\r\n`
        : 'ICY 200 OK\r\n',
    );
    const client: Client = { socket, chunked: v2 };
    clients.add(client);
    socket.once('close', () => {
      clients.delete(client);
      changed();
    });
    // A client sends nothing after its request but NMEA position reports (GGA): the socket keeps
    // flowing with no 'data' handler, which drops them.
    changed();
  };

  const onConnection = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {
      // a peer that resets is simply gone; 'close' follows
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) socket.end('HTTP/1.0 400 Bad Request\r\n\r\n');
        return;
      }
      // The next handler is attached in this same tick, so no chunk falls between the two.
      socket.off('data', onHead);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const requestLine = lines[0] ?? '';
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const rest = head.subarray(end + 4);
      if (requestLine.startsWith('SOURCE ')) {
        acceptSource(socket, requestLine, rest);
      } else if (requestLine.startsWith('GET ')) {
        acceptClient(socket, requestLine, headers);
      } else if (requestLine.startsWith('POST ')) {
        socket.end('HTTP/1.1 501 Not Implemented\r\nNtrip-Version: Ntrip/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      } else {
        socket.end('HTTP/1.0 400 Bad Request\r\n\r\n');
      }
    };
    socket.on('data', onHead);
  };

  const server = net.createServer(onConnection);
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected caster address');

  const until = async (ok: () => boolean, what: string, timeoutMs: number): Promise<void> => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      while (!ok()) await once(changes, 'change', { signal });
    } catch {
      throw new Error(`ntrip caster ${host}:${address.port}/${mountName}: ${what} not within ${timeoutMs} ms (source bytes ${sourceBytes}, clients ${clients.size})`);
    }
  };

  return {
    host,
    port: address.port,
    address: `${host}:${address.port}`,
    mount: mountName,
    get sourceBytes() {
      return sourceBytes;
    },
    get clients() {
      return clients.size;
    },
    get sourceConnected() {
      return source !== undefined;
    },
    sourceData: () => Buffer.concat(received),
    waitForSource: (timeoutMs = 10_000) => until(() => source !== undefined, 'a source', timeoutMs),
    waitForClients: (count, timeoutMs = 10_000) => until(() => clients.size >= count, `${count} client(s)`, timeoutMs),
    waitForSourceBytes: (count, timeoutMs = 10_000) => until(() => sourceBytes >= count, `${count} source bytes`, timeoutMs),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
