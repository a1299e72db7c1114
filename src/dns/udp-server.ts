/**
 * The DNS server's UDP socket at one listen address. Every worker binds it with SO_REUSEPORT and
 * the kernel spreads datagrams over them. A datagram is answered in the 'message' handler, from
 * the answerer's templates, so there is nothing per query but the parse and one copy.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HostPort } from '../config/address.ts';
import type { DnsAnswerer } from './answerer.ts';

/**
 * dgram resolves the destination of every send through `lookup`; Node's default defers even an
 * IP literal to the next tick. Replies go to rinfo.address, always a literal: hand it straight back.
 */
function literalLookup(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (error: Error | null, address: string, family: number) => void): void => callback(null, address, family);
}

export class DnsUdpServer {
  readonly address: HostPort;
  readonly #socket: Socket;
  readonly #answerer: DnsAnswerer;
  #closed: Promise<void> | null = null;

  constructor(address: HostPort, answerer: DnsAnswerer) {
    this.address = address;
    this.#answerer = answerer;
    const v6 = isIPv6(address.host);
    this.#socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: false, reusePort: true, lookup: literalLookup(v6 ? 6 : 4) as never });
    this.#socket.on('message', (message, rinfo) => this.#onMessage(message, rinfo));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#socket.once('error', onError);
      this.#socket.bind({ address: this.address.host, port: this.address.port }, () => {
        this.#socket.off('error', onError);
        // A send error (ICMP unreachable seen on a later send, ENOBUFS) concerns one client; the
        // socket goes on serving everyone else.
        this.#socket.on('error', () => {});
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
    return this.#closed;
  }

  #onMessage(message: Buffer, rinfo: RemoteInfo): void {
    // Port 0 cannot be answered (dgram throws on it): a spoofed or broken source, dropped.
    if (rinfo.port === 0) {
      this.#answerer.dropped++;
      return;
    }
    const response = this.#answerer.answerUdp(message, rinfo.address);
    if (response !== null) this.#socket.send(response, rinfo.port, rinfo.address);
  }
}
