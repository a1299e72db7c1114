/**
 * Types only: what a scheduling or persistence method reads to decide (HAProxy's balance
 * algorithms declare the same), and what each protocol's front end can give it. Config
 * validation compares the two, so `persistence: { type: header }` on a TCP service is refused at
 * load, never discovered at the first connection.
 */

/**
 * - address: the client's address (every protocol).
 * - http-request: the parsed HTTP request head (path, headers, query, cookies).
 * - http-response: the HTTP response head (a cookie to set or to learn).
 * - stream-start: the first bytes of a TCP stream, read before a server is chosen (RDP's Connection Request).
 */
export type MethodNeed = 'address' | 'http-request' | 'http-response' | 'stream-start';

export type FrontEndProtocol = 'http' | 'https' | 'tcp' | 'udp' | 'ftp';

/** What each front end hands the pick path. */
export const PROTOCOL_OFFERS: Readonly<Record<FrontEndProtocol, readonly MethodNeed[]>> = {
  http: ['address', 'http-request', 'http-response'],
  https: ['address', 'http-request', 'http-response'],
  tcp: ['address', 'stream-start'],
  udp: ['address'],
  ftp: ['address'],
};

/** Words for messages: "offers only the client address and the first bytes of the stream". */
export const NEED_WORDS: Readonly<Record<MethodNeed, string>> = {
  address: 'the client address',
  'http-request': 'the HTTP request',
  'http-response': 'the HTTP response',
  'stream-start': 'the first bytes of the stream',
};

/** Can a front end of `protocol` give a method everything in `needs`? */
export function offers(protocol: FrontEndProtocol, needs: readonly MethodNeed[]): boolean {
  const offered = PROTOCOL_OFFERS[protocol];
  return needs.every((need) => offered.includes(need));
}
