/**
 * Harness for the UDP virtual service tests: the listener built directly from YAML (its limits
 * configured as the worker runtime configures them), real dgram sockets for clients and real
 * servers on loopback, the access log and the operational log kept in memory, and the tick left
 * to the test, which drives it with a chosen `now`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { VirtualService } from '../../src/frontend/virtual-service.ts';
import { UdpListener } from '../../src/l4/udp-listener.ts';
import { configLimitSpecs } from '../../src/limits/index.ts';
import type { ConnectionRecord } from '../../src/log/access-log.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { serviceOf } from '../helpers/service.ts';

/** The largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
export const MAX_IPV4_PAYLOAD = 65_507;
/** A datagram starting with this is echoed byte for byte; any other is answered with the server's name. */
export const ECHO = Buffer.from('echo:');

export interface EchoServer {
  readonly name: string;
  readonly port: number;
  /** Client-side ports (the listener's session sockets) this server heard from. */
  readonly peers: Set<number>;
  readonly socket: Socket;
}

export async function bound(address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.bind(0, address);
  await once(socket, 'listening');
  return socket;
}

export async function echoServer(t: TestContext, name: string): Promise<EchoServer> {
  const socket = await bound();
  t.after(() => socket.close());
  const server: EchoServer = { name, port: socket.address().port, peers: new Set(), socket };
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    server.peers.add(rinfo.port);
    const echo = msg.length >= ECHO.length && msg.subarray(0, ECHO.length).equals(ECHO);
    socket.send(echo ? msg : Buffer.from(name), rinfo.port, rinfo.address);
  });
  return server;
}

/** A UDP port nothing listens on: free to bind, and answered with ICMP port unreachable meanwhile. */
export async function unusedPort(): Promise<number> {
  const socket = await bound();
  const { port } = socket.address();
  socket.close();
  await once(socket, 'close');
  return port;
}

export class Client {
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** A client socket on `address` (any of 127.0.0.0/8 on Linux loopback). */
  static async open(t: TestContext, address = '127.0.0.1'): Promise<Client> {
    const socket = await bound(address);
    t.after(() => socket.close());
    return new Client(socket);
  }

  send(to: number, payload: string | Buffer): void {
    this.socket.send(payload, to, '127.0.0.1');
  }

  /** Send and wait for one reply (failing after 2 s rather than hanging). */
  async ask(to: number, payload: string | Buffer = 'who'): Promise<{ msg: Buffer; rinfo: RemoteInfo }> {
    const reply = once(this.socket, 'message', { signal: AbortSignal.timeout(2000) });
    this.send(to, payload);
    const [msg, rinfo] = (await reply) as [Buffer, RemoteInfo];
    return { msg, rinfo };
  }

  async name(to: number): Promise<string> {
    return (await this.ask(to)).msg.toString();
  }
}

/** Wait for a condition the listener reaches on its own (a datagram counted, a socket closed). */
export async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Send a datagram every 20 ms until `condition` holds. The kernel rate-limits ICMP errors
 * (net.ipv4.icmp_msgs_per_sec: 1000 a second with a burst of 50, loopback included), so a
 * datagram to a closed port may go unanswered while this or another test makes ICMP traffic.
 */
export async function nudgeUntil(client: Client, port: number, condition: () => boolean, what: string): Promise<void> {
  const timer = setInterval(() => {
    if (!condition()) client.send(port, 'who');
  }, 20);
  try {
    await until(condition, what);
  } finally {
    clearInterval(timer);
  }
}

/** Real servers as ports on 127.0.0.1, or as host:port. */
export function serviceConfig(listenPort: number, servers: readonly (number | string)[], extra: readonly string[] = []): Config {
  const yaml = [
    'virtualServices:',
    '  - name: syslog',
    `    listen: 127.0.0.1:${listenPort}`,
    '    protocol: udp',
    ...extra.map((line) => `    ${line}`),
    `    realServers: [${servers.map((s) => `{ address: ${typeof s === 'number' ? `127.0.0.1:${s}` : s} }`).join(', ')}]`,
    '',
  ].join('\n');
  const result = loadConfigText(yaml, 'udp.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
  return result.config;
}

export interface LoggedEvent {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface Running {
  vs: VirtualService;
  listener: UdpListener;
  port: number;
  /** The access log's lines, as records, in order. */
  access: ConnectionRecord[];
  /** The operational log. */
  events: LoggedEvent[];
}

/** `extra`: lines of the virtual service's YAML (rateLimit, access, udp, ...). */
export async function start(t: TestContext, servers: readonly (number | string)[], extra: readonly string[] = []): Promise<Running> {
  const port = await unusedPort();
  const config = serviceConfig(port, servers, extra);
  const ctx = new EngineContext();
  // One worker: the limits are decided in process, at once, as the runtime configures them.
  ctx.limits.configure(configLimitSpecs(config));
  const access: ConnectionRecord[] = [];
  ctx.accessLog = { log: () => {}, logConnection: (r) => void access.push(r), close: async () => {} };
  const events: LoggedEvent[] = [];
  const vs = serviceOf(config, null, () => {}, undefined, ctx);
  const listener = new UdpListener(vs, { ctx, events: (level, message, fields) => void events.push({ level, message, fields }), worker: { index: 0, count: 1 } });
  await listener.listen();
  t.after(() => listener.destroyAll());
  return { vs, listener, port, access, events };
}
