/**
 * Types only: OCSP stapling's error codes and what one certificate's fetch knows, apart from the
 * code that fetches (ocsp-manager.ts), checks (ocsp-response.ts) and staples (ocsp-staples.ts).
 */

/** Stable codes for the log and the status: a fetch that failed, a response refused, a revoked certificate. */
export const OcspCode = {
  /** The responder could not be reached, did not answer within tls.ocsp.timeout, or answered other than 200 with a response. */
  FETCH: 'FULCRUM_ERR_OCSP_FETCH',
  /** The response is malformed, unsuccessful, not for this certificate, not signed by its issuer (or its responder), or out of date. */
  RESPONSE: 'FULCRUM_ERR_OCSP_RESPONSE',
  /** The responder does not know the certificate (status unknown). */
  UNKNOWN: 'FULCRUM_ERR_OCSP_UNKNOWN',
  /** The responder says the certificate is revoked: it is served without a staple; replace it. */
  REVOKED: 'FULCRUM_ERR_OCSP_REVOKED',
} as const;
export type OcspCode = (typeof OcspCode)[keyof typeof OcspCode];

/** A good response as the workers staple it. */
export interface Staple {
  /** The OCSPResponse DER, as fetched. */
  response: Buffer;
  /** Epoch ms: its nextUpdate (or a day after thisUpdate without one); never stapled from then on. */
  expires: number;
}

/** One certificate's OCSP state, as GET /api/v1/status shows it under the certificate. */
export interface OcspCertificateStatus {
  /**
   * pending: no answer yet; good: a good response is stapled; revoked: the responder says it is
   * revoked (nothing is stapled); error: the last fetch failed (`stapled` says whether an earlier
   * good response still is).
   */
  state: 'pending' | 'good' | 'revoked' | 'error';
  /** The URL asked: tls.ocsp.responder, or the certificate's own OCSP URL. */
  responder: string;
  /** Whether handshakes get a staple now. */
  stapled: boolean;
  /** ISO 8601 of the last fetch that ended (answered or failed); null before the first. */
  lastFetch: string | null;
  /** The stapled response's (or the revoked one's) thisUpdate and nextUpdate, ISO 8601; null when none or absent. */
  thisUpdate: string | null;
  nextUpdate: string | null;
  /** ISO 8601: the next fetch. */
  nextFetch: string | null;
  /** The last failure's message (with its code), until a fetch succeeds; or why it is revoked. */
  lastError: string | null;
  /** Failed fetches in a row. */
  failures: number;
  certFile: string;
}
