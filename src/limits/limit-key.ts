/**
 * Keys as the tables store them. An address is short; a header value can be as long as the
 * request head allows (16 KiB by default), and 100,000 such keys would hold 1.6 GB. A value
 * longer than MAX_KEY_CHARS is replaced by its SHA-256 (44 characters in base64): equal values
 * still share a bucket, and a collision would need a SHA-256 collision.
 */
import { createHash } from 'node:crypto';

export const MAX_KEY_CHARS = 128;

export function limitKey(text: string): string {
  if (text.length <= MAX_KEY_CHARS) return text;
  return `#${createHash('sha256').update(text).digest('base64')}`;
}
