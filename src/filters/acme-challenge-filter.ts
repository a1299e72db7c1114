/**
 * ACME http-01 (RFC 8555 8.3) on every http virtual service of a config with acme names:
 * `GET /.well-known/acme-challenge/<token>` with the Host of an acme name, for a token of a
 * pending order of that very name, is answered 200 with the key authorization. First in the
 * chain, before the access list, the rate limits, the rules and redirectToHttps: the CA's
 * validation servers come from anywhere, and a redirect would send them elsewhere.
 *
 * Anything else continues down the chain untouched: another path, another host, an unknown
 * token (a real server behind this service may run its own ACME client for other names). A
 * request pays one byte comparison on the path (about 5 ns); a challenge path costs at most a remembered
 * lookup or a bounded file read (src/acme/challenge-store.ts).
 */
import { ACME_CHALLENGE_PATH, type AcmeChallengeStore } from '../acme/challenge-store.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus, type HttpFilter } from '../exchange/filter.ts';
import { Termination } from '../exchange/termination.ts';

const PREFIX = Buffer.from(ACME_CHALLENGE_PATH, 'latin1');
const DOT = 0x2e;
const HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Type', 'application/octet-stream'],
  ['Cache-Control', 'no-store'],
];

export class AcmeChallengeFilter implements HttpFilter {
  readonly name = 'acme-challenge';
  readonly #challenges: AcmeChallengeStore;

  constructor(challenges: AcmeChallengeStore) {
    this.#challenges = challenges;
  }

  onRequestHeaders(ex: Exchange): FilterStatus {
    const head = ex.head;
    const start = head.originStart;
    // "/." first, in JS: Buffer#compare with ranges is a native call of 0.1-0.2 us (measured),
    // and hardly any other path starts with a dot.
    if (head.buf[start + 1] !== DOT || head.targetEnd - start <= PREFIX.length) return FilterStatus.CONTINUE;
    if (head.buf.compare(PREFIX, 0, PREFIX.length, start, start + PREFIX.length) !== 0) return FilterStatus.CONTINUE;
    if (ex.method !== 'GET' && ex.method !== 'HEAD') return FilterStatus.CONTINUE;
    const input = ex.input();
    const token = input.path.slice(PREFIX.length);
    const answer = this.#challenges.httpAnswer(input.host, token, (found) => {
      if (ex.ended) return; // the client left while the file was read
      if (found === null) ex.resume();
      else respond(ex, found);
    });
    if (answer === undefined) return FilterStatus.STOP;
    if (answer === null) return FilterStatus.CONTINUE;
    respond(ex, answer);
    return FilterStatus.STOP;
  }
}

function respond(ex: Exchange, keyAuthorization: string): void {
  ex.answer(200, HEADERS, keyAuthorization, Termination.ACME_CHALLENGE, 'acme http-01 challenge answered');
}
