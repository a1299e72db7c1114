/**
 * The control connection in alg mode: Fulcrum reads it line by line, both ways, and changes only
 * what names a data connection's address.
 *
 * Server → client: a 227 (PASV) or 229 (EPSV) reply gets Fulcrum's own address and a port of this
 * worker's passive share in place of the real server's; the data connection that arrives there
 * is carried to the port the server announced (data-port.ts, data-link.ts). Multi-line replies
 * ("227-" … "227 ") are followed, so text inside another reply is never rewritten.
 * Client → server: PORT and EPRT (active mode) are proxied (Fulcrum listens on the server's side
 * and connects to the client) or refused; AUTH is refused, since TLS would make the connection
 * unreadable (port-following mode serves FTPS); LPRT and LPSV are refused. Anything else passes.
 *
 * Fulcrum's own answers keep the order of the client's commands: a client may send several
 * commands at once, and its answer must not overtake the server's answers to earlier ones.
 * While a port is being bound, that direction is held (the socket paused, later lines buffered).
 */
import { isIPv4, type Socket } from 'node:net';
import { Termination } from '../exchange/termination.ts';
import type { ReadMeter } from '../l4/relay.ts';
import { LINE_TOO_LONG, LineBuffer } from './lines.ts';
import {
  REPLY_ACTIVE_REFUSED,
  REPLY_AUTH_REFUSED,
  REPLY_BAD_PORT,
  REPLY_LINE_TOO_LONG,
  REPLY_TOO_MANY_COMMANDS,
  REPLY_LONG_ADDRESS_REFUSED,
  REPLY_NO_ACTIVE_PORT,
  REPLY_NO_PASSIVE_PORT,
  REPLY_NOT_FTP,
  REPLY_PASV_NEEDS_IPV4,
  REPLY_PORT_NOT_CLIENT,
} from './replies.ts';
import {
  activeCommand,
  commandArgument,
  commandVerb,
  parseEprtArgument,
  parseEpsvReply,
  parsePasvReply,
  parsePortArgument,
  pasvTuple,
  replyCode,
  type DataAddress,
  type PassiveReply,
} from './syntax.ts';
import { normaliseAddress } from '../ip/client-address.ts';

/** Longest control line accepted: RFC 959 sets none; paths are bounded by PATH_MAX (4096) plus the verb. */
export const MAX_CONTROL_LINE = 8192;

const CRLF = '\r\n';
/** Unanswered commands one control connection may have: generous for pipelining, a bound for a flood. */
const MAX_UNANSWERED = 1000;
const HYPHEN = 0x2d;
const SPACE = 0x20;

/** What the control connection needs from its session: addresses and data ports. */
export interface AlgSession {
  readonly clientIp: string;
  readonly clientLocalIp: string;
  /** Listen on a passive port for the client, to be carried to `serverPort` on the real server; null when none is free. */
  openPassivePort(serverPort: number, done: (port: number | null) => void): void;
  /** Listen for the real server's active-mode connection, to be carried to `client`; the host and port to send the server, or null. */
  openActivePort(client: DataAddress, done: (host: string | null, port: number) => void): void;
  note(level: 'info' | 'warn', message: string, event: string): void;
}

/** One direction of the control connection. */
class Direction {
  readonly from: Socket;
  readonly to: Socket;
  readonly lines = new LineBuffer(MAX_CONTROL_LINE);
  /** Text to write to `to`, written at the end of each pump. */
  out = '';
  /** Waiting for a port to be bound: lines stay in `lines`. */
  held = false;
  /** `to` has a full write buffer: `from` is paused until 'drain'. */
  blocked = false;
  ended = false;
  endPassed = false;

  constructor(from: Socket, to: Socket) {
    this.from = from;
    this.to = to;
  }
}

export class AlgControl {
  /** Bytes read from the client and from the real server (the session's idle timeout and its access-log line read them). */
  bytesIn = 0;
  bytesOut = 0;
  /** How the control connection ended, when not by a close of both sides (null): set by the first fault seen. */
  ending: Termination | null = null;
  endingDetail = '';
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #up: Direction;
  readonly #down: Direction;
  readonly #session: AlgSession;
  readonly #activeMode: 'proxy' | 'refuse';
  /** The code of the multi-line reply in progress; 0 between replies. */
  #replyCode = 0;
  /** The reply in progress has had its passive address rewritten (a multi-line 227 names it once). */
  #replyRewritten = false;
  /**
   * The answers the client awaits, in order: null for a command the real server answers (and, at
   * first, its greeting), text for an answer of Fulcrum's that must wait for those before it.
   */
  readonly #order: (string | null)[] = [null];
  #bounceLogged = false;
  #open = 2;
  #failing = false;
  readonly #onClose: () => void;

  constructor(client: Socket, server: Socket, session: AlgSession, activeMode: 'proxy' | 'refuse', meter: ReadMeter, onClose: () => void) {
    this.#client = client;
    this.#server = server;
    this.#session = session;
    this.#activeMode = activeMode;
    this.#onClose = onClose;
    const up = new Direction(client, server);
    const down = new Direction(server, client);
    this.#up = up;
    this.#down = down;
    client.on('data', (chunk: Buffer) => {
      this.bytesIn += chunk.length;
      meter(chunk.length);
      up.lines.push(chunk);
      this.#pump(up);
    });
    server.on('data', (chunk: Buffer) => {
      this.bytesOut += chunk.length;
      meter(chunk.length);
      down.lines.push(chunk);
      this.#pump(down);
    });
    server.on('drain', () => this.#unblock(up));
    client.on('drain', () => this.#unblock(down));
    client.on('end', () => {
      up.ended = true;
      this.#pump(up);
    });
    server.on('end', () => {
      down.ended = true;
      this.#pump(down);
    });
    client.on('error', ignore);
    server.on('error', ignore);
    this.#watch(client, server);
    this.#watch(server, client);
    client.resume();
    server.resume();
  }

  // ---- flow -----------------------------------------------------------------------------------

  #pump(dir: Direction): void {
    while (!dir.held && !this.#failing) {
      const line = dir.lines.next();
      if (line === null) break;
      if (line === LINE_TOO_LONG) {
        this.#tooLong(dir);
        return;
      }
      if (dir === this.#up) this.#onCommand(line);
      else this.#onReply(line);
    }
    if (this.#failing) return;
    this.#flush(this.#up);
    this.#flush(this.#down);
    if (dir.ended && !dir.held && !dir.endPassed) {
      dir.endPassed = true;
      // A last line without its line end is passed on as it came.
      const rest = dir.lines.takeRest();
      if (rest.length > 0) dir.to.write(rest);
      dir.to.end();
    }
  }

  #flush(dir: Direction): void {
    if (dir.out.length === 0 || dir.to.writableEnded) return;
    const ok = dir.to.write(dir.out, 'latin1');
    dir.out = '';
    if (!ok && !dir.blocked) {
      dir.blocked = true;
      dir.from.pause();
      // Fulcrum's own answers (534, 502, 500...) travel down too: a client that does not read
      // them must not be read either, or each command it sends would buffer another answer.
      if (dir === this.#down) this.#up.from.pause();
    }
  }

  #unblock(dir: Direction): void {
    dir.blocked = false;
    if (this.#mayRead(dir)) dir.from.resume();
    if (dir === this.#down && this.#mayRead(this.#up)) this.#up.from.resume();
  }

  /** A direction is read while neither it nor (for the client) the way back to the client is blocked. */
  #mayRead(dir: Direction): boolean {
    return !dir.held && !dir.blocked && !(dir === this.#up && this.#down.blocked);
  }

  #hold(dir: Direction): void {
    dir.held = true;
    dir.from.pause();
  }

  #release(dir: Direction): void {
    if (this.#closed) return;
    dir.held = false;
    this.#pump(dir);
    if (this.#mayRead(dir)) dir.from.resume();
  }

  get #closed(): boolean {
    return this.#open < 2 || this.#failing || this.#client.destroyed || this.#server.destroyed;
  }

  // ---- server → client ----------------------------------------------------------------------

  #onReply(line: string): void {
    const code = replyCode(line);
    let current = this.#replyCode;
    let last = true;
    if (current === 0) {
      // Not a reply line at all: the server's business; pass it on.
      if (code === 0) {
        this.#down.out += line + CRLF;
        return;
      }
      current = code;
      this.#replyRewritten = false;
      if (line.charCodeAt(3) === HYPHEN) {
        this.#replyCode = code;
        last = false;
      }
    } else if (code === current && (line.length === 3 || line.charCodeAt(3) === SPACE)) {
      this.#replyCode = 0;
    } else {
      last = false;
    }
    if ((current === 227 || current === 229) && !this.#replyRewritten) {
      const found = current === 227 ? parsePasvReply(line) : parseEpsvReply(line);
      if (found !== null) {
        this.#replyRewritten = true;
        this.#passive(line, found, current === 227, last);
        return;
      }
    }
    this.#down.out += line + CRLF;
    if (last && current >= 200) this.#answered();
  }

  /** A final reply from the server: the oldest command is answered, and Fulcrum's answers queued behind it may go. */
  #answered(): void {
    const order = this.#order;
    if (order.length > 0 && order[0] === null) order.shift();
    while (order.length > 0 && order[0] !== null) this.#down.out += order.shift()!;
  }

  #passive(line: string, found: PassiveReply, is227: boolean, last: boolean): void {
    const down = this.#down;
    const local = this.#session.clientLocalIp;
    if (is227 && !isIPv4(local)) {
      down.out += REPLY_PASV_NEEDS_IPV4;
      if (last) this.#answered();
      return;
    }
    this.#hold(down);
    this.#session.openPassivePort(found.port, (port) => {
      if (this.#closed) return;
      if (port === null) down.out += REPLY_NO_PASSIVE_PORT;
      else down.out += line.slice(0, found.start) + (is227 ? pasvTuple(local, port) : String(port)) + line.slice(found.end) + CRLF;
      if (last) this.#answered();
      this.#release(down);
    });
  }

  // ---- client → server ----------------------------------------------------------------------

  #onCommand(line: string): void {
    const verb = commandVerb(line);
    if (verb === null) {
      this.#fail(REPLY_NOT_FTP);
      return;
    }
    if (this.#flooding) {
      this.#fail(REPLY_TOO_MANY_COMMANDS);
      return;
    }
    switch (verb) {
      case 'AUTH':
        this.#say(REPLY_AUTH_REFUSED);
        return;
      case 'LPRT':
      case 'LPSV':
        this.#say(REPLY_LONG_ADDRESS_REFUSED);
        return;
      case 'PORT':
      case 'EPRT':
        this.#active(verb, line);
        return;
      default:
        this.#up.out += line + CRLF;
        this.#order.push(null);
    }
  }

  /** Fulcrum's own answer to a command: now, or after the server's answers to earlier commands. */
  #say(reply: string): void {
    if (this.#order.length === 0) this.#down.out += reply;
    else this.#order.push(reply);
  }

  /** Commands sent on and not answered yet: past MAX_UNANSWERED the client is flooding, not pipelining. */
  get #flooding(): boolean {
    return this.#order.length > MAX_UNANSWERED;
  }

  #active(verb: 'PORT' | 'EPRT', line: string): void {
    if (this.#activeMode === 'refuse') {
      this.#say(REPLY_ACTIVE_REFUSED);
      return;
    }
    const arg = commandArgument(line);
    const target = verb === 'PORT' ? parsePortArgument(arg) : parseEprtArgument(arg);
    if (target === null) {
      this.#say(REPLY_BAD_PORT);
      return;
    }
    const clientIp = this.#session.clientIp;
    if (normaliseAddress(target.host) !== clientIp) {
      // Once per session: a client repeating it must not flood the log.
      if (!this.#bounceLogged) this.#session.note('warn', `refused ${verb} to ${target.host}:${target.port} from ${clientIp}: active mode may only connect back to the client`, 'ftp-port-refused');
      this.#bounceLogged = true;
      this.#say(REPLY_PORT_NOT_CLIENT);
      return;
    }
    const up = this.#up;
    this.#hold(up);
    this.#session.openActivePort(target, (host, port) => {
      if (this.#closed) return;
      if (host === null) {
        this.#say(REPLY_NO_ACTIVE_PORT);
      } else {
        up.out += activeCommand(host, port);
        this.#order.push(null);
      }
      this.#release(up);
    });
  }

  // ---- errors and close ---------------------------------------------------------------------

  #tooLong(dir: Direction): void {
    if (dir === this.#up) {
      this.#fail(REPLY_LINE_TOO_LONG);
      return;
    }
    this.#session.note('warn', `the real server sent a control line longer than ${MAX_CONTROL_LINE} bytes; session closed`, 'ftp-server-line-too-long');
    this.#endAs(Termination.UPSTREAM_MALFORMED, `a control line from the real server longer than ${MAX_CONTROL_LINE} bytes`);
    this.#client.destroy();
    this.#server.destroy();
  }

  /** Not FTP: answer once and close both sides (what came before is flushed first). */
  #fail(reply: string): void {
    this.#endAs(Termination.CLIENT_BAD_REQUEST, `answered ${reply.slice(0, -2)}`);
    this.#flush(this.#down);
    this.#failing = true;
    this.#server.destroy();
    const client = this.#client;
    client.pause();
    if (client.writableEnded) client.destroy();
    else client.end(reply, 'latin1', () => client.destroy());
  }

  #endAs(termination: Termination, detail: string): void {
    if (this.ending !== null) return;
    this.ending = termination;
    this.endingDetail = detail;
  }

  #watch(socket: Socket, other: Socket): void {
    socket.once('close', (hadError: boolean) => {
      if (hadError) this.#endAs(socket === this.#client ? Termination.CLIENT_ABORTED : Termination.UPSTREAM_RESET, '');
      // As in Relay: only a clean close (both directions ended) leaves the other side to end by itself.
      if (!this.#failing && !(socket.readableEnded && socket.writableFinished)) other.destroy();
      if (--this.#open === 0) this.#onClose();
    });
  }
}

function ignore(): void {}
