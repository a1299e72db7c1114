/**
 * The HTTP/2 front end's settings (`http2:` on an http or https virtual service): cleartext
 * prior knowledge (h2c), the SETTINGS Fulcrum announces, and the abuse limits that close a
 * connection with GOAWAY. HTTP/2 over TLS is on when `tls.alpn` lists h2.
 *
 * The flood defaults stop the published attacks and leave real browsers alone:
 * - resets: rapid reset (CVE-2023-44487) opens and cancels streams as fast as it can, tens of
 *   thousands a second per connection; a browser cancels at most the ~100 streams it has in
 *   flight at once (a navigation away), and a few a second over minutes. nghttp2's own default
 *   is a burst of 1000 refilled at 33/s; 200 is twice a browser's whole stream window.
 * - settings, pings, priority, windowUpdates, emptyFrames: frames that cost the server work and
 *   the client nothing (CVE-2019-9512, -9515, -9516, -9518). A browser sends one or two SETTINGS
 *   and a PING now and then; WINDOW_UPDATEs follow the data we send, so each 4 KiB of response
 *   body we write earns one more.
 * - continuationFrames: a header block in more CONTINUATION frames than this (zero-length ones
 *   count: CVE-2024-27316 and its kin) is a flood; with 16 KiB frames, 16 carry 256 KiB, far
 *   above any header list we accept.
 */
import { z } from 'zod';
import { field, integer } from './schema-builders.ts';

/** A token bucket: `burst` frames at once, refilled at `perSecond`. */
function bucket(burst: number, perSecond: number, what: string) {
  return field(
    z
      .strictObject({
        burst: integer(1, 1_000_000, burst, `Frames allowed at once (${what}).`),
        perSecond: integer(0, 1_000_000, perSecond, 'Frames per second allowed over time (the bucket refills at this rate).'),
      })
      .prefault({}),
    `${what}: more than burst at once, or more than perSecond over time, and the connection is closed with GOAWAY ENHANCE_YOUR_CALM (termination client-flood).`,
  );
}

export const Http2FloodSchema = z.strictObject({
  resets: bucket(200, 33, 'Streams the client resets (RST_STREAM), or makes us reset for its fault (malformed fields, a stream over the limit, a header list that decodes too large): rapid reset'),
  settings: bucket(20, 2, 'SETTINGS frames from the client'),
  pings: bucket(50, 10, 'PING frames from the client'),
  priority: bucket(500, 100, 'PRIORITY frames from the client'),
  windowUpdates: bucket(1000, 100, 'WINDOW_UPDATE frames from the client, beyond one per 4 KiB of response body sent'),
  emptyFrames: bucket(100, 10, 'DATA frames with no payload that do not end their stream, and frames of unknown types'),
  continuationFrames: integer(1, 1_000, 16, 'Most CONTINUATION frames in one header block (zero-length frames count); more is a flood.'),
});

export const Http2Schema = z.strictObject({
  cleartext: field(
    z.boolean().default(false),
    'http services only: also accept HTTP/2 without TLS from clients that start with the HTTP/2 preface (prior knowledge, h2c), on the same port as HTTP/1.1. Over TLS, HTTP/2 is on when tls.alpn lists h2.',
  ),
  maxConcurrentStreams: integer(1, 10_000, 100, 'Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; browsers open up to 100).'),
  initialWindowSize: integer(
    65_535,
    16_777_215,
    65_535,
    "Each stream's receive window in bytes (SETTINGS_INITIAL_WINDOW_SIZE): how much of a request body a client may send before we read it, so what one stream can make us hold.",
  ),
  maxHeaderListSize: field(
    z.int().min(1).max(1_048_576).optional(),
    "Largest request header list (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113's size: names, values and 32 bytes per field); a header block over it closes the connection. Default: limits.maxHeaderBytes.",
  ),
  floods: field(Http2FloodSchema.prefault({}), 'Abuse limits per connection; each closes the connection with GOAWAY and counts it.'),
});

export type Http2Config = z.output<typeof Http2Schema>;
export type Http2FloodConfig = z.output<typeof Http2FloodSchema>;
export type FloodKind = Exclude<keyof Http2FloodConfig, 'continuationFrames'>;
