/**
 * dns checks: one UDP query (check.dns: query and queryType, recursion desired) to the real
 * server; healthy when a reply with the same ID and question says NOERROR, with or without
 * records. NXDOMAIN, SERVFAIL, REFUSED and the rest fail it with the code and a hint.
 *
 * UDP may drop the query or the reply, so the query goes out again at half the timeout; a reply
 * to either counts. Replies with another ID or question (late ones of an earlier check, or
 * spoofed) are ignored and counted. The socket is connected, so that Linux hands back an ICMP
 * port unreachable as ECONNREFUSED (nothing listens there) and drops datagrams from other peers.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { RECURSION_DESIRED, decode, encode, type DecodedPacket } from 'dns-packet';
import { formatAddress, type HostPort } from '../config/address.ts';
import { DEFAULT_DNS_QUESTION, type DnsQuestion, type HealthCheckConfig } from '../config/health-check.ts';
import { Attempt } from './attempt.ts';
import { formatLatency, socketErrorReason, timeoutReason } from './reason.ts';
import { checkTarget, dnsQuestionText } from './target.ts';
import type { ProbeResult } from './types.ts';

/** RCODE names (RFC 1035 section 4.1.1, RFC 2136 section 2.2), by value. */
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** What each failing RCODE most often means for a health check, and what to change. */
const RCODE_HINTS: Record<string, string> = {
  NXDOMAIN: 'the name does not exist there; set query to a name this server answers',
  SERVFAIL: 'the server could not answer (a resolver that cannot reach its upstream, or a zone it cannot load)',
  REFUSED: 'the server will not answer this name to Fulcrum (an authoritative server answers for its own zones only); set query to a name it serves',
  NOTIMP: 'the server does not implement this kind of query',
};

export function probeDns(address: HostPort, check: HealthCheckConfig, signal?: AbortSignal): Promise<ProbeResult> {
  const target = checkTarget(address, check);
  const shown = `${formatAddress(target)}/udp`;
  const question = check.dns ?? DEFAULT_DNS_QUESTION;
  const asked = dnsQuestionText(check);
  const id = randomInt(0, 65_536);
  const query = encode({ type: 'query', id, flags: RECURSION_DESIRED, questions: [{ type: question.queryType, name: question.query, class: 'IN' }] });
  return new Promise((resolve) => {
    // A host name is looked up in the socket's family: IPv4, like the real server addresses of most DNS pools.
    const socket = createSocket(isIP(target.host) === 6 ? 'udp6' : 'udp4');
    let sent = 0;
    let ignored = 0;
    let resend: NodeJS.Timeout | undefined;
    const onTimeout = (): string => {
      const twice = sent > 1 ? '; asked twice' : '';
      const others = ignored > 0 ? `; ignored ${ignored} ${ignored === 1 ? 'reply' : 'replies'} with another ID or question` : '';
      return `${timeoutReason('response', check.timeout, shown, asked)}${twice}${others}`;
    };
    const finish = (result: ProbeResult): void => {
      clearTimeout(resend);
      socket.close();
      resolve(result);
    };
    const attempt = new Attempt(check.timeout, { target: shown, request: asked }, onTimeout, finish, signal);
    // No connection to wait for: the whole timeout is for the answer.
    attempt.phase = 'response';
    const send = (): void => {
      if (attempt.settled) return;
      sent++;
      socket.send(query, (error) => {
        if (error !== null) attempt.settle(false, udpErrorReason(error, shown, target.host));
      });
    };
    socket.on('error', (error) => attempt.settle(false, udpErrorReason(error, shown, target.host)));
    socket.on('message', (message) => {
      const reply = matchingReply(message, id, question);
      if (reply === null) {
        ignored++;
        return;
      }
      const rcodeValue = (reply.flags ?? 0) & 0xf;
      const rcode = RCODES[rcodeValue] ?? `RCODE ${rcodeValue}`;
      const answers = reply.answers?.length ?? 0;
      attempt.detail.rcode = rcode;
      attempt.detail.answers = answers;
      if (rcode === 'NOERROR') {
        const records = answers === 0 ? `no ${question.queryType} records` : `${answers} ${answers === 1 ? 'answer' : 'answers'}`;
        return attempt.settle(true, `NOERROR for ${asked} in ${formatLatency(attempt.elapsed())} (${records})`);
      }
      const hint = RCODE_HINTS[rcode];
      attempt.settle(false, `${rcode} for ${asked} from ${shown}${hint === undefined ? '' : `: ${hint}`}`);
    });
    // A host name is looked up here; a failed lookup comes to this callback, not to 'error'.
    socket.connect(target.port, target.host, (error?: unknown) => {
      if (error instanceof Error) return attempt.settle(false, udpErrorReason(error, shown, target.host));
      send();
      if (!attempt.settled) resend = setTimeout(send, check.timeout / 2);
    });
  });
}

/** The reply to our query, or null for anything else: not DNS, not a response, another ID or question. */
function matchingReply(message: Buffer, id: number, question: DnsQuestion): DecodedPacket | null {
  let packet: DecodedPacket;
  try {
    packet = decode(message);
  } catch {
    return null;
  }
  if (packet.type !== 'response' || packet.id !== id) return null;
  // An error reply may leave out the question (FORMERR, NOTIMP); the ID alone then matches it.
  const asked = packet.questions?.[0];
  if (asked === undefined) return packet;
  // Names compare without case (RFC 4343); some servers echo them in another case (DNS 0x20).
  return asked.type === question.queryType && sameName(asked.name, question.query) ? packet : null;
}

function sameName(a: string, b: string): boolean {
  const bare = (name: string): string => (name === '.' ? '' : name.replace(/\.$/, '').toLowerCase());
  return bare(a) === bare(b);
}

function udpErrorReason(error: NodeJS.ErrnoException, shown: string, host: string): string {
  if (error.code === 'ECONNREFUSED') return `ICMP port unreachable: nothing listens on ${shown}`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
    return socketErrorReason(error, shown, host, 'connect');
  }
  return `UDP query to ${shown} failed: ${error.message}`;
}
