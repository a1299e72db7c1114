/**
 * Why a message head was refused. The numbers index REASONS; 0 means no error. Each carries the
 * status a client gets and the short reason that goes into the body and the access log.
 */
export const ParseError = {
  NONE: 0,
  BAD_REQUEST_LINE: 1,
  /** No longer returned: every method token is forwarded (RFC 9110 §9.1). Kept so that the codes keep their numbers. */
  UNKNOWN_METHOD: 2,
  BAD_TARGET: 3,
  BAD_VERSION: 4,
  UNSUPPORTED_VERSION: 5,
  URI_TOO_LONG: 6,
  BAD_HEADER_NAME: 7,
  BAD_HEADER_VALUE: 8,
  OBS_FOLD: 9,
  BARE_CR_OR_LF: 10,
  TOO_MANY_HEADERS: 11,
  HEADERS_TOO_LARGE: 12,
  BAD_CONTENT_LENGTH: 13,
  DUPLICATE_CONTENT_LENGTH: 14,
  CONTENT_LENGTH_AND_TRANSFER_ENCODING: 15,
  BAD_TRANSFER_ENCODING: 16,
  MISSING_HOST: 17,
  DUPLICATE_HOST: 18,
  TRANSFER_ENCODING_IN_HTTP10: 19,
  CONNECT_NOT_SUPPORTED: 20,
  BAD_STATUS_LINE: 21,
  BAD_CHUNK: 22,
  BAD_HOST: 23,
} as const;
export type ParseError = (typeof ParseError)[keyof typeof ParseError];

export interface ParseErrorInfo {
  readonly status: number;
  readonly reason: string;
}

export const PARSE_ERRORS: readonly ParseErrorInfo[] = [
  { status: 0, reason: '' },
  { status: 400, reason: 'invalid request line' },
  { status: 501, reason: 'method not implemented' },
  { status: 400, reason: 'invalid request target' },
  { status: 400, reason: 'invalid HTTP version' },
  { status: 505, reason: 'HTTP version not supported' },
  { status: 414, reason: 'request URI too long' },
  { status: 400, reason: 'invalid header name' },
  { status: 400, reason: 'invalid header value' },
  { status: 400, reason: 'obsolete line folding' },
  { status: 400, reason: 'bare CR or LF' },
  { status: 431, reason: 'too many header fields' },
  { status: 431, reason: 'request header fields too large' },
  { status: 400, reason: 'invalid Content-Length' },
  { status: 400, reason: 'several Content-Length values' },
  { status: 400, reason: 'both Content-Length and Transfer-Encoding' },
  { status: 400, reason: 'Transfer-Encoding must end with chunked' },
  { status: 400, reason: 'missing Host header' },
  { status: 400, reason: 'several Host headers' },
  { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 request' },
  { status: 405, reason: 'CONNECT is not supported' },
  { status: 502, reason: 'invalid status line from real server' },
  { status: 400, reason: 'invalid chunked encoding' },
  { status: 400, reason: 'invalid Host header' },
];
