/**
 * The DNS rows' check before measuring: real queries over UDP (node:dgram, dns-packet), to see
 * that a server answers the scenario's name as the scenario expects. A server that answers
 * wrongly would be measured answering something else, so it gets an error row instead.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { decode, encode, type DecodedPacket } from 'dns-packet';

export interface DnsAnswerSample {
  rcode: string;
  authoritative: boolean;
  /** The A records of the answer section, in order. */
  addresses: string[];
}

/**
 * Sends `count` A queries for `name`, one after the other, from one socket: one source port, so
 * every query reaches the same Fulcrum worker (SO_REUSEPORT hashes on the address pair) and a
 * rotation shows in order.
 */
export async function askA(host: string, port: number, name: string, count: number, timeoutMs = 2000): Promise<DnsAnswerSample[]> {
  const socket = dgram.createSocket('udp4');
  try {
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const samples: DnsAnswerSample[] = [];
    for (let i = 0; i < count; i++) {
      const id = (i * 7919 + 1) & 0xffff;
      const query = encode({ type: 'query', id, flags: 0, questions: [{ name, type: 'A', class: 'IN' }] });
      const reply = waitForReply(socket, id, timeoutMs, `${name} A from ${host}:${port}`);
      socket.send(query, port, host);
      const packet = await reply;
      samples.push({
        // dns-packet decodes the rcode by name; its types leave the field out.
        rcode: (packet as DecodedPacket & { rcode?: string }).rcode ?? '?',
        authoritative: packet.flag_aa,
        addresses: (packet.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : [])),
      });
    }
    return samples;
  } finally {
    socket.close();
  }
}

function waitForReply(socket: dgram.Socket, id: number, timeoutMs: number, what: string): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no answer to ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: Buffer): void => {
      let packet: DecodedPacket;
      try {
        packet = decode(message);
      } catch (err) {
        clearTimeout(timer);
        socket.off('message', onMessage);
        reject(new Error(`${what}: the answer does not decode: ${err instanceof Error ? err.message : String(err)}`));
        return;
      }
      if (packet.id !== id) return; // a late answer to an earlier query
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(packet);
    };
    socket.on('message', onMessage);
  });
}

/**
 * Checks the samples against the expected answer: NOERROR, authoritative, exactly `perAnswer` A
 * records each from `allowed`, and every address of `mustSee` somewhere among them. Returns
 * what is wrong, or undefined.
 */
export function judgeAnswers(samples: readonly DnsAnswerSample[], expect: { allowed: readonly string[]; perAnswer: number; mustSee: readonly string[] }): string | undefined {
  for (const s of samples) {
    if (s.rcode !== 'NOERROR') return `answer status ${s.rcode}, expected NOERROR`;
    if (!s.authoritative) return 'answer without the AA flag';
    if (s.addresses.length !== expect.perAnswer) return `answer with ${s.addresses.length} A records (${s.addresses.join(', ')}), expected ${expect.perAnswer}`;
    const stranger = s.addresses.find((a) => !expect.allowed.includes(a));
    if (stranger !== undefined) return `answer with ${stranger}, expected one of ${expect.allowed.join(', ')}`;
  }
  const seen = new Set(samples.flatMap((s) => s.addresses));
  const missing = expect.mustSee.filter((a) => !seen.has(a));
  if (missing.length > 0) return `${missing.join(', ')} never answered in ${samples.length} queries (site down?); answers: ${[...seen].join(', ')}`;
  return undefined;
}
