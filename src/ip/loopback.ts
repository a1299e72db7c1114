/**
 * Is an address this machine's own loopback: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z (a dual-stack
 * socket's view of IPv4 loopback)? One answer for the admin listener's config check and for the
 * API's "no users yet: loopback only" rule.
 */
import { parseIpInto } from './bytes.ts';

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const bytes = new Uint8Array(16);
  const family = parseIpInto(address, bytes);
  if (family === 4) return bytes[0] === 127;
  if (family === 6) return bytes.subarray(0, 15).every((byte) => byte === 0) && bytes[15] === 1;
  return false;
}
