/**
 * Stable error codes (FULCRUM_ERR_*) that tests, logs and users can match on.
 */
export const ErrorCode = {
  CONFIG_INVALID: 'FULCRUM_ERR_CONFIG_INVALID',
  CONFIG_READ: 'FULCRUM_ERR_CONFIG_READ',
  CONFIG_YAML: 'FULCRUM_ERR_CONFIG_YAML',
  CONFIG_UNKNOWN_KEY: 'FULCRUM_ERR_CONFIG_UNKNOWN_KEY',
  CONFIG_MISSING_KEY: 'FULCRUM_ERR_CONFIG_MISSING_KEY',
  CONFIG_CONFLICT: 'FULCRUM_ERR_CONFIG_CONFLICT',
  LISTEN: 'FULCRUM_ERR_LISTEN',
  /** Admin API (src/admin): no such endpoint, virtual service or real server. */
  ADMIN_NOT_FOUND: 'FULCRUM_ERR_ADMIN_NOT_FOUND',
  /** Admin API: the request is malformed (bad JSON, unknown key, a state that does not exist). */
  ADMIN_BAD_REQUEST: 'FULCRUM_ERR_ADMIN_BAD_REQUEST',
  /** Admin API: the endpoint exists, the method does not. */
  ADMIN_METHOD: 'FULCRUM_ERR_ADMIN_METHOD',
  /** Admin API: the Host header is not an IP address or localhost (DNS rebinding guard). */
  ADMIN_HOST: 'FULCRUM_ERR_ADMIN_HOST',
  /** Admin API: a bug; the message says what failed. */
  ADMIN_INTERNAL: 'FULCRUM_ERR_ADMIN_INTERNAL',
  /** Admin API: the load balancer is shutting down. */
  ADMIN_UNAVAILABLE: 'FULCRUM_ERR_ADMIN_UNAVAILABLE',
  /** The config file could not be written (read-only, I/O error); it was left as it was. */
  CONFIG_WRITE: 'FULCRUM_ERR_CONFIG_WRITE',
  /** A valid config could not be applied (an address is taken, a worker refused it); the running config stays. */
  RELOAD_FAILED: 'FULCRUM_ERR_RELOAD_FAILED',
  /** A certificate, key, client CA or CRL file could not be read (missing, not permitted, a directory). */
  TLS_READ: 'FULCRUM_ERR_TLS_READ',
  /** A certificate (or client CA) file holds no certificate, a key file no usable key, or the key is encrypted. */
  TLS_PEM: 'FULCRUM_ERR_TLS_PEM',
  /** The private key does not belong to the certificate it is paired with. */
  TLS_KEY_MISMATCH: 'FULCRUM_ERR_TLS_KEY_MISMATCH',
  /** A CRL file (tls.clientAuth.crl) holds no CRL, or one OpenSSL cannot parse. */
  TLS_CRL: 'FULCRUM_ERR_TLS_CRL',
  /** Admin API: no credentials, or wrong ones (401). */
  ADMIN_UNAUTHENTICATED: 'FULCRUM_ERR_ADMIN_UNAUTHENTICATED',
  /** Admin API: the role does not allow this (403). */
  ADMIN_FORBIDDEN: 'FULCRUM_ERR_ADMIN_FORBIDDEN',
  /** Admin API: a cookie-authenticated write without the session's X-CSRF-Token (403). */
  ADMIN_CSRF: 'FULCRUM_ERR_ADMIN_CSRF',
  /** Admin API: too many failed logins for this user or address; retry after the time given (429). */
  ADMIN_RATE_LIMITED: 'FULCRUM_ERR_ADMIN_RATE_LIMITED',
  /** Admin API: If-Match names a version that is no longer current (412). */
  ADMIN_PRECONDITION: 'FULCRUM_ERR_ADMIN_PRECONDITION',
  /** Admin API: the item exists already (409). */
  ADMIN_EXISTS: 'FULCRUM_ERR_ADMIN_EXISTS',
  /** Admin API: the item is still used (a pool a virtual service routes to) (409). */
  ADMIN_IN_USE: 'FULCRUM_ERR_ADMIN_IN_USE',
  /** The admin plane's state database (users, tokens, audit, history) cannot be opened or written. */
  STATE_DATABASE: 'FULCRUM_ERR_STATE_DATABASE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class FulcrumError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'FulcrumError';
  }
}
