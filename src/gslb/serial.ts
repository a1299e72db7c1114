/**
 * The SOA serial Fulcrum gives its zones. Secondaries and monitoring compare serials to notice a
 * change (RFC 1982 arithmetic), so it must grow with every change of the gslb section and should
 * not go back after a restart: it is the Unix time in seconds at the change, or one more than the
 * previous serial when several changes fall within one second (or the clock stepped back).
 * Seconds fit the 32-bit field until 2106.
 */
export function nextSerial(previous: number, now: number = Date.now()): number {
  const seconds = Math.floor(now / 1000) >>> 0;
  return seconds > previous ? seconds : (previous + 1) >>> 0;
}
