/**
 * How an exchange (HTTP) or a connection (TCP, UDP session, FTP) ended: one stable code, in the
 * access log and later in metrics, so an operator alerts on `upstream-connect-refused` instead of
 * grepping prose (HAProxy's termination state, Envoy's response flags). TERMINATION_DESCRIPTIONS
 * below says what each means; docs/termination-codes.md is generated from it.
 *
 * `reason` is what a client may read in the body of an answer Fulcrum writes itself: short, and
 * never an internal address or errno (those go to the access log's `error` and the operational log).
 */
export const Termination = {
  OK: 'ok',
  CLIENT_ABORTED: 'client-aborted',
  CLIENT_TIMEOUT: 'client-timeout',
  CLIENT_BAD_REQUEST: 'client-bad-request',
  CLIENT_TLS_FAILED: 'client-tls-failed',
  CLIENT_FLOOD: 'client-flood',
  CLIENT_PROTOCOL_ERROR: 'client-protocol-error',
  CLIENT_STOPPED_READING: 'client-stopped-reading',
  REQUEST_TOO_LARGE: 'request-too-large',
  RESPONSE_TOO_LARGE: 'response-too-large',
  UPSTREAM_CONNECT_REFUSED: 'upstream-connect-refused',
  UPSTREAM_CONNECT_TIMEOUT: 'upstream-connect-timeout',
  UPSTREAM_CONNECT_ERROR: 'upstream-connect-error',
  UPSTREAM_TLS_FAILED: 'upstream-tls-failed',
  UPSTREAM_RESPONSE_TIMEOUT: 'upstream-response-timeout',
  UPSTREAM_RESET: 'upstream-reset',
  UPSTREAM_MALFORMED: 'upstream-malformed-response',
  UPSTREAM_STOPPED_READING: 'upstream-stopped-reading',
  NO_SERVER: 'no-server-available',
  QUEUE_FULL: 'queue-full',
  QUEUE_TIMEOUT: 'queue-timeout',
  CONNECTION_LIMIT: 'connection-limit',
  DENIED: 'denied',
  RATE_LIMITED: 'rate-limited',
  REDIRECTED: 'redirected',
  ANSWERED: 'answered-by-rule',
  ACME_CHALLENGE: 'acme-challenge',
  SESSION_TIMEOUT: 'session-timeout',
  SESSION_EVICTED: 'session-evicted',
  CUT: 'cut',
  INTERNAL_ERROR: 'internal-error',
} as const;
export type Termination = (typeof Termination)[keyof typeof Termination];

/** The status and the client-safe reason of an answer Fulcrum writes itself for a termination. */
export const ANSWERS: Readonly<Partial<Record<Termination, { status: number; reason: string }>>> = {
  [Termination.UPSTREAM_CONNECT_REFUSED]: { status: 502, reason: 'the real server could not be reached' },
  [Termination.UPSTREAM_CONNECT_ERROR]: { status: 502, reason: 'the real server could not be reached' },
  [Termination.UPSTREAM_TLS_FAILED]: { status: 502, reason: 'the real server could not be reached' },
  [Termination.UPSTREAM_CONNECT_TIMEOUT]: { status: 504, reason: 'the real server did not answer the connection in time' },
  [Termination.UPSTREAM_RESPONSE_TIMEOUT]: { status: 504, reason: 'the real server did not respond in time' },
  [Termination.UPSTREAM_RESET]: { status: 502, reason: 'the real server closed the connection without a response' },
  [Termination.UPSTREAM_MALFORMED]: { status: 502, reason: 'the real server sent an invalid response' },
  [Termination.UPSTREAM_STOPPED_READING]: { status: 504, reason: 'the real server stopped reading the request' },
  [Termination.NO_SERVER]: { status: 503, reason: 'no real server available' },
  [Termination.QUEUE_FULL]: { status: 503, reason: 'every real server is busy' },
  [Termination.QUEUE_TIMEOUT]: { status: 503, reason: 'every real server stayed busy' },
  [Termination.CLIENT_TIMEOUT]: { status: 408, reason: 'the request took too long to arrive' },
  [Termination.REQUEST_TOO_LARGE]: { status: 413, reason: 'request body too large' },
  [Termination.DENIED]: { status: 403, reason: 'access denied' },
  [Termination.RATE_LIMITED]: { status: 429, reason: 'too many requests' },
  [Termination.INTERNAL_ERROR]: { status: 502, reason: 'internal error' },
};

/** The one-line meaning of each code, for docs/termination-codes.md and the console. */
export const TERMINATION_DESCRIPTIONS: Readonly<Record<Termination, string>> = {
  ok: 'The response (or the relayed connection) completed.',
  'client-aborted': 'The client closed or reset the connection before the response was complete.',
  'client-timeout': 'The client took longer than timeouts.clientHeader for its request head (408), or stalled its request body; a tcp or ftp connection was idle for timeouts.idle.',
  'client-bad-request': 'The request was malformed or over a limit (400, 413, 414, 431, 501, 505); an FTP client sent a control line that is not FTP, too long, or past 1000 unanswered commands (500 or 421).',
  'client-tls-failed': "The client's TLS handshake failed or took longer than tls.handshakeTimeout (no shared version or cipher, an alert, not TLS at all); logged for tcp services, whose every connection has a line.",
  'client-flood':
    "The client's HTTP/2 connection passed an abuse limit (http2.floods: rapid reset, SETTINGS, PING, PRIORITY, WINDOW_UPDATE or empty frames, CONTINUATION frames, concurrent streams, header list size, a header block too slow): closed with GOAWAY ENHANCE_YOUR_CALM; the error names the limit.",
  'client-protocol-error': "The client broke the HTTP/2 protocol (a bad preface, frame size, stream state, HPACK or flow control): closed with GOAWAY and nghttp2's error code.",
  'client-stopped-reading': 'The client stopped reading the response for longer than timeouts.response.',
  'request-too-large': "The request body was larger than a rule's requestBody.maxBytes, or than a body filter may buffer (413).",
  'response-too-large': 'A response-body filter buffered more of the response than it may (1 MiB, filter.ts BODY_BUFFER_LIMIT); its head had gone, so the response was cut.',
  'upstream-connect-refused': 'The real server refused the connection (ECONNREFUSED), on every attempt the retries allowed; for a UDP session, it answered with ICMP port unreachable.',
  'upstream-connect-timeout': 'No connection to the real server within timeouts.connect (504).',
  'upstream-connect-error': 'The connection to the real server failed otherwise: unreachable, reset while connecting (502); for a UDP session, ICMP host or network unreachable, or its socket could not be opened.',
  'upstream-tls-failed': "The TLS handshake with the real server failed (pool tls): its certificate was not trusted by ca, did not name serverName, or had expired, or no protocol was shared, or the server refused Fulcrum's client certificate or its absence with a TLS alert (502, after the retries).",
  'upstream-response-timeout': 'No response head from the real server within timeouts.response (504).',
  'upstream-reset': 'The real server closed or reset the connection before or during its response (502, or a cut response).',
  'upstream-malformed-response': "The real server's response was not valid HTTP/1.1, or its head was too large (502); an FTP real server sent a control line too long.",
  'upstream-stopped-reading': 'The real server stopped reading the request body (504).',
  'no-server-available': 'No real server, and no sorry server, was available (503, or the notAvailable answer; a closed connection, an FTP 421, a dropped UDP datagram).',
  'queue-full': "Every real server was at its maxConnections and the pool's queue was full (503, or a closed connection; UDP has no queue: the datagram is dropped).",
  'queue-timeout': "Waited the pool's queue.timeout for a real server below its maxConnections (503, or a closed connection).",
  'connection-limit': "The virtual service's maxConnections and its queue were full, or the wait timed out (tcp, ftp).",
  denied: "An access list or a rule's deny refused the client (403, or a closed connection, or a dropped UDP datagram).",
  'rate-limited': 'A rate limit or a per-client connection limit refused it (429 with Retry-After, or a closed connection, or a dropped UDP datagram that would have opened a session).',
  redirected: 'A rule answered with a redirect.',
  'answered-by-rule': 'A rule answered itself (respond).',
  'acme-challenge': "Fulcrum answered an ACME CA's http-01 challenge for one of tls.acme's names itself (200, the key authorization); no real server saw it.",
  'session-timeout':
    'A UDP session saw no datagram either way for udp.sessionTimeout: the usual end of a UDP session, which has no close of its own (datagramsOut 0 on its line: the real server never answered).',
  'session-evicted': "udp.maxSessions was reached in the worker: this UDP session, the least recently used, was closed to make room for a new client's; its client's next datagram starts a new one.",
  cut: 'Fulcrum ended the connection: shutdown or retirement of the listener past the drain grace period, timeouts.drainCut, or for a UDP session its real server going down, disabled, removed, or draining past drainTimeout (the error says which).',
  'internal-error': 'A fault inside Fulcrum (the operational log has the stack); the worker went on serving everyone else.',
};
