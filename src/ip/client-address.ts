/**
 * The one place a client's address is normalised, for every engine: a dual-stack listener ([::])
 * reports an IPv4 client as "::ffff:10.1.2.3", and persistence (sourceMask), access lists, rate
 * limits, X-Forwarded-For and the access log must all see the same "10.1.2.3" that a listener on
 * 0.0.0.0 reports.
 */
export function normaliseAddress(address: string): string {
  // Node always reports the mapped prefix in lower case.
  return address.length > 7 && address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:') && address.indexOf('.', 7) > 0 ? address.slice(7) : address;
}
