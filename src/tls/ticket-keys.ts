/**
 * Session ticket keys that every worker (and, with a shared key file, every node of an HA pair)
 * derives alike, so a client resumes its TLS session whichever worker or node it reaches, and
 * that change every rotation period without any message between them:
 *
 *   key(period) = HKDF-SHA256(secret, salt "fulcrum session tickets", info "period N", 48 bytes)
 *   N = floor(unix time in ms / rotation period in ms)
 *
 * 48 bytes is what OpenSSL takes through Node (SSL_CTX_set_tlsext_ticket_keys: 16 name, 16 HMAC,
 * 16 AES). Node keeps one key per context and no previous one, so a ticket issued before a
 * rotation no longer decrypts after it: that client does one full handshake, once per period.
 */
import { hkdfSync } from 'node:crypto';

const SALT = 'fulcrum session tickets';
export const TICKET_KEY_BYTES = 48;
/** Shorter secrets are refused: 32 bytes is HKDF-SHA256's own strength. */
export const MIN_SECRET_BYTES = 32;

export function periodOf(nowMs: number, rotateMs: number): number {
  return Math.floor(nowMs / rotateMs);
}

export function ticketKey(secret: Buffer, period: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, `period ${period}`, TICKET_KEY_BYTES));
}
