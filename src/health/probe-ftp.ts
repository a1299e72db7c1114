/**
 * ftp checks: the server greets with 220 "Service ready" (RFC 959 section 4.2) within the
 * timeout. The check then says QUIT and waits briefly for the reply, so that the server logs a
 * clean goodbye rather than a reset; a server that closes first is just as fine.
 *
 * A greeting may span lines ("220-Welcome" ... "220 Ready") and may be preceded by 120 "ready
 * in N minutes", which is not an answer yet. 421 (busy, too many users) or any other code fails
 * the check with the server's own words.
 */
import { connect } from 'node:net';
import { formatDuration } from '../config/duration.ts';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { Attempt } from './attempt.ts';
import { formatLatency, quoteLine, socketErrorReason, timeoutReason, trimLine } from './reason.ts';
import { checkTarget } from './target.ts';
import type { ProbeResult } from './types.ts';

/** Greetings run to a few lines of banner; this much without a complete reply is not an FTP server. */
const GREETING_LIMIT_CHARS = 16 * 1024;
/** Longest wait for the reply to QUIT (and at most half the time left): the greeting already decided. */
const QUIT_GRACE_MS = 500;

/** A complete reply: its code and its first line (where servers put their banner). */
interface Reply {
  code: number;
  firstLine: string;
}

/**
 * Collects reply lines into complete replies. `next` returns the next complete reply, null
 * while none is, or an error text when the stream is not FTP replies at all.
 */
class ReplyReader {
  #pending = '';
  #first: string | null = null;
  #code = '';

  /** Characters of an unfinished reply, for "closed in the middle". */
  get partial(): number {
    return this.#pending.length + (this.#first?.length ?? 0);
  }

  append(text: string): void {
    this.#pending += text;
  }

  next(): Reply | string | null {
    let end: number;
    while ((end = this.#pending.indexOf('\n')) !== -1) {
      const line = this.#pending.slice(0, end).replace(/\r$/, '');
      this.#pending = this.#pending.slice(end + 1);
      const reply = this.#line(line);
      if (reply !== null) return reply;
    }
    if (this.partial > GREETING_LIMIT_CHARS) return `it sent more than ${GREETING_LIMIT_CHARS / 1024} KiB without a complete reply`;
    return null;
  }

  #line(line: string): Reply | string | null {
    if (this.#first === null) {
      const match = /^([1-5][0-9]{2})(-?)/.exec(line);
      if (match === null || (line.length > 3 && !/[-\s]/.test(line.charAt(3)))) return `it began ${quoteLine(line, 40)}`;
      const code = match[1] ?? '';
      if (match[2] !== '-') return { code: Number(code), firstLine: line };
      this.#first = line;
      this.#code = code;
      return null;
    }
    // A multi-line reply ends at the line that starts with its code and a space (RFC 959 section 4.2).
    if (!line.startsWith(this.#code) || (line.length > 3 && !/\s/.test(line.charAt(3)))) return null;
    const reply = { code: Number(this.#code), firstLine: this.#first };
    this.#first = null;
    return reply;
  }
}

export function probeFtp(address: HostPort, check: HealthCheckConfig, signal?: AbortSignal): Promise<ProbeResult> {
  const target = checkTarget(address, check);
  const shown = formatAddress(target);
  return new Promise((resolve) => {
    const reader = new ReplyReader();
    /** The success reason and latency once the server greeted with 220. */
    let ready: { reason: string; latencyMs: number } | null = null;
    let preliminary: string | null = null;
    let quitWait: NodeJS.Timeout | undefined;
    const finish = (result: ProbeResult): void => {
      clearTimeout(quitWait);
      // The latency is the greeting's; the QUIT round trip is politeness, not health.
      resolve(ready !== null && result.ok ? { ...result, latencyMs: ready.latencyMs } : result);
    };
    const onTimeout = (phase: string): string => {
      if (phase === 'connect') return timeoutReason('connect', check.timeout, shown, null);
      const said = preliminary === null ? '' : `; it said ${preliminary}`;
      return `no FTP greeting within ${formatDuration(check.timeout)} from ${shown}${said}`;
    };
    const attempt = new Attempt(check.timeout, { target: shown }, onTimeout, finish, signal);
    const socket = connect({ host: target.host, port: target.port });
    attempt.attach(socket);
    socket.setEncoding('utf8');
    const succeed = (): void => {
      if (ready !== null) attempt.settle(true, ready.reason);
    };
    const greeted = (reply: Reply): void => {
      attempt.detail.status = reply.code;
      attempt.detail.reply = trimLine(reply.firstLine);
      if (reply.code !== 220) return attempt.settle(false, refusalReason(reply, shown));
      const latencyMs = attempt.elapsed();
      ready = { reason: `FTP server ready in ${formatLatency(latencyMs)}: ${quoteLine(reply.firstLine)}`, latencyMs };
      socket.write('QUIT\r\n');
      const left = check.timeout - latencyMs;
      quitWait = setTimeout(succeed, Math.max(0, Math.min(QUIT_GRACE_MS, left / 2)));
    };
    socket.once('connect', () => {
      attempt.phase = 'response';
    });
    socket.on('data', (text: string) => {
      // Any reply to QUIT (221, or a 5xx from a server that dislikes it) ends the session.
      if (ready !== null) return succeed();
      reader.append(text);
      for (let reply = reader.next(); reply !== null && ready === null && !attempt.settled; reply = reader.next()) {
        if (typeof reply === 'string') return attempt.settle(false, `the answer on ${shown} is not an FTP greeting; ${reply}`);
        if (reply.code < 200) preliminary = quoteLine(reply.firstLine);
        else greeted(reply);
      }
    });
    socket.once('end', () => {
      if (ready !== null) return succeed();
      const where = reader.partial > 0 || preliminary !== null ? 'in the middle of its greeting' : 'without an FTP greeting';
      attempt.settle(false, `${shown} closed the connection ${where}`);
    });
    socket.once('error', (error) => {
      // A reset after QUIT (the server closed with our QUIT unread) is still a goodbye.
      if (ready !== null) return succeed();
      attempt.settle(false, socketErrorReason(error, shown, target.host, attempt.phase === 'connect' ? 'connect' : 'response'));
    });
  });
}

/** 421: busy or going down; 5xx: it will not serve this client; anything else is not a greeting. */
function refusalReason(reply: Reply, shown: string): string {
  const said = quoteLine(reply.firstLine);
  if (reply.code === 421) return `FTP server on ${shown} is not available: ${said}`;
  if (reply.code >= 500) return `FTP server on ${shown} refused the session: ${said}`;
  return `FTP server on ${shown} greeted with ${reply.code}, not 220: ${said}`;
}
