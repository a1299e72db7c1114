/**
 * One FTP data connection through Fulcrum: a socket that connected to Fulcrum (the client in
 * passive mode, the real server in active mode) and the connection Fulcrum opens for it to the
 * other side, joined by a Relay once that one is up. The accepted socket stays paused until then,
 * so an upload's first bytes (and even its FIN) wait in the kernel, not in memory.
 */
import { connect, type Socket } from 'node:net';
import { Relay, type ReadMeter } from '../l4/relay.ts';

export interface DataTarget {
  host: string;
  port: number;
  /** The local address to connect from: the one the peer knows Fulcrum by on the control connection (servers check it). */
  localAddress: string | undefined;
}

export type DataLinkFailed = (link: DataLink, reason: string) => void;

export class DataLink {
  readonly accepted: Socket;
  readonly target: DataTarget;
  readonly #outbound: Socket;
  #relay: Relay | null = null;
  readonly #connectDeadline: number;
  readonly #onClose: (link: DataLink) => void;
  readonly #onFailed: DataLinkFailed;
  #done = false;

  constructor(accepted: Socket, target: DataTarget, deadline: number, meter: ReadMeter, onClose: (link: DataLink) => void, onFailed: DataLinkFailed) {
    this.accepted = accepted;
    this.target = target;
    this.#connectDeadline = deadline;
    this.#onClose = onClose;
    this.#onFailed = onFailed;
    accepted.on('error', ignore);
    accepted.pause();
    const outbound = connect({ host: target.host, port: target.port, localAddress: target.localAddress, allowHalfOpen: true, noDelay: true });
    this.#outbound = outbound;
    outbound.on('error', (err: Error) => {
      if (this.#relay === null) this.#fail(`cannot connect to ${target.host}:${target.port}: ${err.message}`);
    });
    outbound.once('connect', () => {
      if (this.#done) return;
      this.#relay = new Relay(accepted, outbound, this.#finish, Date.now(), meter);
    });
    // Gone before the other side answered: nothing to relay.
    accepted.once('close', () => {
      if (this.#relay === null) this.destroy();
    });
  }

  /** Bytes relayed both ways. */
  get bytes(): number {
    const relay = this.#relay;
    return relay === null ? 0 : relay.bytesIn + relay.bytesOut;
  }

  /** Bytes read from the accepted socket (towards the target). */
  get acceptedBytes(): number {
    return this.#relay?.bytesIn ?? 0;
  }

  /** Bytes read from the target (towards the accepted socket). */
  get targetBytes(): number {
    return this.#relay?.bytesOut ?? 0;
  }

  get connected(): boolean {
    return this.#relay !== null;
  }

  /** The worker's tick: the connect deadline, then the idle timeout. */
  tick(now: number, idleMs: number): void {
    if (this.#done) return;
    if (this.#relay === null) {
      if (now >= this.#connectDeadline) this.#fail(`timed out connecting to ${this.target.host}:${this.target.port}`);
    } else {
      this.#relay.checkIdle(now, idleMs);
    }
  }

  destroy(): void {
    if (this.#relay !== null) {
      this.#relay.destroy('cut');
      return;
    }
    this.accepted.destroy();
    this.#outbound.destroy();
    this.#finish();
  }

  #fail(reason: string): void {
    if (this.#done) return;
    this.#onFailed(this, reason);
    this.destroy();
  }

  readonly #finish = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#onClose(this);
  };
}

function ignore(): void {}
