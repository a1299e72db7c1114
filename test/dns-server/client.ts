/**
 * A small DNS client for the end-to-end suite: queries encoded with dns-packet (the independent
 * reference), sent over real UDP and TCP sockets to a running Fulcrum, answers decoded with it
 * again and kept as bytes too, for the checks dns-packet hides (compression pointers, sizes, the
 * RCODE's extended bits).
 *
 * UDP: one socket per query (a fresh source port, so the kernel's SO_REUSEPORT hash spreads them
 * over the workers), or a UdpClient for many from one port. TCP: a TcpClient frames messages with
 * the 2-byte length of RFC 1035 4.2.2 and returns the answers in the order they arrive, so
 * several may be pipelined on one connection; raw writes send any bytes, split anywhere.
 *
 * Silence ("no answer at all") is shown without waiting for a timeout: the bad packet goes first
 * and a valid probe after it from the same socket (so to the same worker, which answers in
 * order); the first thing back must be the probe's answer.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { decode, type Answer, type DecodedPacket, type RecordType } from 'dns-packet';
import { packetQuery, type QueryOptions as PacketQueryOptions } from '../dns/helpers.ts';

export const HOST = '127.0.0.1';
/** Long enough for a loaded CI machine; a lost answer shows as this timeout. */
export const DEFAULT_TIMEOUT_MS = 3000;

export interface EcsOption {
  /** 1 IPv4, 2 IPv6. */
  family: number;
  source: number;
  /** The address, host bits zero ("10.2.3.0"). */
  ip: string;
  scope?: number;
}

/** Header flags default to RD, as resolvers and dig send; an OPT gets UDP payload size 1232 unless given. */
export interface QueryOptions extends Omit<PacketQueryOptions, 'type' | 'edns'> {
  type?: RecordType | 'ANY';
  edns?: { udpPayloadSize?: number; version?: number; do?: boolean; ecs?: EcsOption };
}

let nextId = 1;

/** A fresh query ID, never 0 (0 shows a header that was not written). */
export function freshId(): number {
  nextId = (nextId % 0xffff) + 1;
  return nextId;
}

/** The wire form of a query for `name`, with a fresh ID unless one is given. */
export function query(name: string, options: QueryOptions = {}): Buffer {
  return packetQuery(name, { ...options, id: options.id ?? freshId() });
}

/** An answer: its bytes and dns-packet's reading of them. */
export interface Reply {
  bytes: Buffer;
  packet: DecodedPacket;
}

export function toReply(bytes: Buffer): Reply {
  return { bytes, packet: decode(bytes) };
}

/** The RCODE, with the OPT's extended bits (RFC 6891 6.1.3): BADVERS is 16. */
export function rcodeOf(reply: Reply): number {
  const opt = reply.packet.additionals?.find((r) => r.type === 'OPT');
  const extended = opt !== undefined && opt.type === 'OPT' ? opt.extendedRcode : 0;
  return (extended << 4) | (reply.bytes[3]! & 0x0f);
}

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** The section counts from the header. */
export function countsOf(bytes: Buffer): { qd: number; an: number; ns: number; ar: number } {
  return { qd: bytes.readUInt16BE(4), an: bytes.readUInt16BE(6), ns: bytes.readUInt16BE(8), ar: bytes.readUInt16BE(10) };
}

/** The ECS option of a reply's OPT, or undefined. */
export function ecsOf(reply: Reply): { family: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string } | undefined {
  const opt = reply.packet.additionals?.find((r) => r.type === 'OPT');
  if (opt === undefined || opt.type !== 'OPT') return undefined;
  const ecs = opt.options.find((o) => o.code === 8);
  if (ecs === undefined || !('sourcePrefixLength' in ecs)) return undefined;
  return { family: ecs.family ?? -1, sourcePrefixLength: ecs.sourcePrefixLength ?? -1, scopePrefixLength: ecs.scopePrefixLength ?? -1, ip: ecs.ip ?? '' };
}

/** A record's fields whatever its type (dns-packet's Answer union has no ttl or data on OPT). */
export function rr(record: Answer): { name: string; type: string; ttl: number | undefined; data: unknown } {
  const { ttl, data } = record as { ttl?: number; data?: unknown };
  return { name: record.name, type: record.type, ttl, data };
}

/** The data of each answer record of `type` ("A": the addresses, in order). */
export function answersOf(reply: Reply, type: string): unknown[] {
  return (reply.packet.answers ?? []).filter((r) => r.type === type).map((r) => (r as { data: unknown }).data);
}

/**
 * Many datagrams from one UDP socket (one source port). Answers are matched to queries by ID;
 * anything that arrives and no query waits for is kept in `unexpected`.
 */
export class UdpClient {
  readonly socket: UdpSocket;
  readonly port: number;
  readonly host: string;
  /** Datagrams that no pending query was waiting for. */
  readonly unexpected: Buffer[] = [];
  readonly #waiting = new Map<number, (bytes: Buffer) => void>();

  private constructor(socket: UdpSocket, port: number, host: string) {
    this.socket = socket;
    this.port = port;
    this.host = host;
    socket.on('message', (bytes) => {
      const id = bytes.length >= 2 ? bytes.readUInt16BE(0) : -1;
      const wake = this.#waiting.get(id);
      if (wake === undefined) {
        this.unexpected.push(bytes);
        return;
      }
      this.#waiting.delete(id);
      wake(bytes);
    });
  }

  static async open(port: number, host = HOST): Promise<UdpClient> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, HOST, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpClient(socket, port, host);
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  /** Sends any bytes; nothing is awaited. */
  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, this.port, this.host, (error) => (error ? reject(error) : resolve())));
  }

  /** Sends `message` (whose first two bytes are its ID) and resolves with the datagram carrying that ID back. */
  async exchange(message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    const id = message.readUInt16BE(0);
    if (this.#waiting.has(id)) throw new Error(`ID ${id} is already in flight on this socket`);
    const answer = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no UDP answer to ID ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (bytes) => {
        clearTimeout(timer);
        resolve(bytes);
      });
    });
    await this.send(message);
    return answer;
  }

  async query(message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    return toReply(await this.exchange(message, timeoutMs));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** One query over UDP from a fresh socket; rejects when no answer comes within the timeout. */
export async function udpQuery(port: number, message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
  const client = await UdpClient.open(port);
  try {
    return await client.query(message, timeoutMs);
  } finally {
    await client.close();
  }
}

/**
 * Sends `bad` over UDP, then `probe` (a valid query) from the same socket, and returns what came
 * back before the probe's answer: [] when the server said nothing to `bad`.
 */
export async function udpSilence(port: number, bad: Buffer, probe: Buffer = query('surveyor.lab', { type: 'SOA' })): Promise<Buffer[]> {
  const client = await UdpClient.open(port);
  try {
    await client.send(bad);
    await client.exchange(probe);
    return [...client.unexpected];
  } finally {
    await client.close();
  }
}

/** A TCP connection to the DNS server: framed messages out, framed answers in, in arrival order. */
export class TcpClient {
  readonly socket: Socket;
  /** Resolves when the server (or we) closed the connection. */
  readonly closed: Promise<void>;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #answers: Buffer[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 2) {
        const length = this.#buffer.readUInt16BE(0);
        if (this.#buffer.length < 2 + length) break;
        this.#answers.push(Buffer.from(this.#buffer.subarray(2, 2 + length)));
        this.#buffer = this.#buffer.subarray(2 + length);
      }
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = HOST): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TcpClient(socket));
      });
    });
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Writes bytes as they are (no framing); resolves when the kernel has them. */
  writeRaw(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** Writes each message with its 2-byte length prefix, all in one write (pipelined). */
  send(...messages: Buffer[]): Promise<void> {
    return this.writeRaw(Buffer.concat(messages.flatMap((m) => [frameLength(m.length), m])));
  }

  /** The next answer, in arrival order; rejects on timeout or when the connection closes first. */
  async next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = this.#answers.shift();
      if (answer !== undefined) return answer;
      if (this.#ended) throw new Error('the TCP connection closed before the awaited answer');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no TCP answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
    }
  }

  async query(message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    await this.send(message);
    return toReply(await this.next(timeoutMs));
  }

  /** Answers received and not yet taken by next(). */
  get queued(): number {
    return this.#answers.length;
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

export function frameLength(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length, 0);
  return prefix;
}

/** One query over a fresh TCP connection. */
export async function tcpQuery(port: number, message: Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
  const client = await TcpClient.connect(port);
  try {
    return await client.query(message, timeoutMs);
  } finally {
    await client.close();
  }
}

/** Both transports, for tests that must hold over each. */
export const TRANSPORTS = {
  udp: udpQuery,
  tcp: tcpQuery,
} as const;
