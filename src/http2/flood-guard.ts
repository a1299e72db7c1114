/**
 * Reads the frame headers of everything a client sends on an HTTP/2 connection before nghttp2
 * does, and counts what floods are made of (docs in src/config/http2.ts): frames that cost us
 * work and the client nothing. nghttp2 checks each frame's validity and answers protocol errors;
 * what it cannot see is a stream of valid frames that adds up to an attack, which is this.
 *
 * Only the 9-byte frame headers are read (type, flags, length, stream id); payloads are skipped,
 * so a scan costs a few comparisons per frame, not per byte. A verdict is final: once a limit is
 * passed, `scan` answers the violation for every later chunk too, and the caller closes the
 * connection with GOAWAY ENHANCE_YOUR_CALM without handing nghttp2 another byte.
 */
import type { FloodKind, Http2Config } from '../config/http2.ts';

/** Why a connection was closed: a flood bucket ran dry, or a limit on streams or header blocks. */
export type Violation = FloodKind | 'continuationFrames' | 'streams' | 'headerList' | 'headerBlockTime';

export const FrameType = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const FRAME_HEADER = 9;
/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": nghttp2 checks it; we only step over it. */
export const PREFACE_LENGTH = 24;
/** SETTINGS_MAX_FRAME_SIZE: we announce the default, 16,384 (RFC 9113 §6.5.2). */
const MAX_FRAME_SIZE = 16_384;
/** Response body bytes that earn the client one more WINDOW_UPDATE (src/config/http2.ts). */
const BYTES_PER_WINDOW_UPDATE = 4096;

/** A token bucket in plain numbers: `burst` at once, refilled at `perSecond`. */
class Bucket {
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #at: number;

  constructor(burst: number, perSecond: number, now: number) {
    this.#burst = burst;
    this.#perMs = perSecond / 1000;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Spend one token; false when none is left. */
  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

}

export interface FloodGuardOptions {
  readonly http2: Http2Config;
  /** The header list limit in force (http2.maxHeaderListSize, or limits.maxHeaderBytes). */
  readonly maxHeaderListSize: number;
  /** How long one header block (HEADERS and its CONTINUATIONs) may take to arrive whole. */
  readonly headerBlockMs: number;
}

export class FloodGuard {
  readonly #buckets: Record<FloodKind, Bucket>;
  readonly #maxContinuations: number;
  readonly #maxStreams: number;
  /** A header block's compressed bytes may not pass this (HPACK rarely grows a list by more than a few bytes a field). */
  readonly #maxBlockBytes: number;
  readonly #headerBlockMs: number;

  /** Bytes of the preface still to step over. */
  #preface = PREFACE_LENGTH;
  /** A frame header cut between two reads. */
  readonly #header = Buffer.alloc(FRAME_HEADER);
  #headerHave = 0;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;

  #inBlock = false;
  #blockFrames = 0;
  #blockBytes = 0;
  /** When the header block in progress started (see inHeaderBlock): a slow CONTINUATION holds the whole connection. */
  #blockStartedAt = 0;

  /** Client streams open as far as this guard knows: opened by HEADERS, closed by a client RST or by `closed`. */
  readonly #open = new Set<number>();
  #highestStream = 0;
  /** The client acknowledged our SETTINGS: from then on it knows maxConcurrentStreams. */
  #settingsAcked = false;
  #earnedBytes = 0;
  /** WINDOW_UPDATEs the response body we sent allows, beyond the bucket. */
  #earnedUpdates = 0;

  /** The verdict, once there is one. */
  violation: Violation | null = null;
  detail = '';
  /** Frames seen (all types), and bytes read, for the access log and tests. */
  frames = 0;
  bytes = 0;

  constructor(options: FloodGuardOptions, now: number) {
    const floods = options.http2.floods;
    const bucket = (b: { burst: number; perSecond: number }): Bucket => new Bucket(b.burst, b.perSecond, now);
    this.#buckets = {
      resets: bucket(floods.resets),
      settings: bucket(floods.settings),
      pings: bucket(floods.pings),
      priority: bucket(floods.priority),
      windowUpdates: bucket(floods.windowUpdates),
      emptyFrames: bucket(floods.emptyFrames),
    };
    this.#maxContinuations = floods.continuationFrames;
    this.#maxStreams = options.http2.maxConcurrentStreams;
    this.#maxBlockBytes = options.maxHeaderListSize;
    this.#headerBlockMs = options.headerBlockMs;
  }

  /** Read `chunk` (the next bytes from the client); false once a limit is passed (see `violation`). */
  scan(chunk: Buffer, now: number): boolean {
    if (this.violation !== null) return false;
    this.bytes += chunk.length;
    let at = 0;
    const end = chunk.length;
    if (this.#preface > 0) {
      const step = Math.min(this.#preface, end);
      this.#preface -= step;
      at = step;
    }
    while (at < end) {
      if (this.#skip > 0) {
        const step = Math.min(this.#skip, end - at);
        this.#skip -= step;
        at += step;
        continue;
      }
      let header: Buffer;
      let h: number;
      if (this.#headerHave === 0 && end - at >= FRAME_HEADER) {
        header = chunk;
        h = at;
        at += FRAME_HEADER;
      } else {
        const step = Math.min(FRAME_HEADER - this.#headerHave, end - at);
        chunk.copy(this.#header, this.#headerHave, at, at + step);
        this.#headerHave += step;
        at += step;
        if (this.#headerHave < FRAME_HEADER) break;
        this.#headerHave = 0;
        header = this.#header;
        h = 0;
      }
      const length = (header[h]! << 16) | (header[h + 1]! << 8) | header[h + 2]!;
      const type = header[h + 3]!;
      const flags = header[h + 4]!;
      const stream = header.readUInt32BE(h + 5) & 0x7fffffff;
      this.#skip = length;
      this.frames++;
      if (!this.#frame(type, flags, length, stream, now)) return false;
    }
    if (this.#inBlock && now - this.#blockStartedAt > this.#headerBlockMs) return this.#refuse('headerBlockTime', `a header block took more than ${this.#headerBlockMs} ms to arrive`);
    return true;
  }

  #frame(type: number, flags: number, length: number, stream: number, now: number): boolean {
    switch (type) {
      case FrameType.DATA:
        if (length === 0 && (flags & END_STREAM) === 0 && !this.#buckets.emptyFrames.take(now)) return this.#refuse('emptyFrames', 'empty DATA frames');
        return true;
      case FrameType.HEADERS:
        // Larger than SETTINGS_MAX_FRAME_SIZE: nghttp2 answers FRAME_SIZE_ERROR (RFC 9113 §4.2).
        if (length > MAX_FRAME_SIZE) return true;
        if ((stream & 1) === 1 && stream > this.#highestStream) {
          this.#highestStream = stream;
          this.#open.add(stream);
          // Before its SETTINGS ACK a client may not know our limit yet: nghttp2 refuses the
          // extra streams (REFUSED_STREAM) and the client retries them. After it, it knows.
          if (this.#open.size > this.#maxStreams && this.#settingsAcked) return this.#refuse('streams', `more than ${this.#maxStreams} concurrent streams after acknowledging SETTINGS_MAX_CONCURRENT_STREAMS`);
        }
        this.#blockBytes = length;
        if (this.#blockBytes > this.#maxBlockBytes) return this.#refuse('headerList', `a header block over ${this.#maxBlockBytes} bytes`);
        if ((flags & END_HEADERS) === 0) {
          this.#inBlock = true;
          this.#blockFrames = 0;
          this.#blockStartedAt = now;
        }
        return true;
      case FrameType.CONTINUATION:
        if (!this.#inBlock || length > MAX_FRAME_SIZE) return true; // protocol errors: nghttp2 answers them
        this.#blockFrames++;
        this.#blockBytes += length;
        if (this.#blockFrames > this.#maxContinuations) return this.#refuse('continuationFrames', `more than ${this.#maxContinuations} CONTINUATION frames in one header block`);
        if (this.#blockBytes > this.#maxBlockBytes) return this.#refuse('headerList', `a header block over ${this.#maxBlockBytes} bytes`);
        if ((flags & END_HEADERS) !== 0) this.#inBlock = false;
        return true;
      case FrameType.PRIORITY:
        return this.#buckets.priority.take(now) || this.#refuse('priority', 'PRIORITY frames');
      case FrameType.RST_STREAM:
        this.#open.delete(stream);
        return this.#buckets.resets.take(now) || this.#refuse('resets', 'streams reset by the client (rapid reset)');
      case FrameType.SETTINGS:
        if ((flags & ACK) !== 0) {
          this.#settingsAcked = true;
          return true;
        }
        return this.#buckets.settings.take(now) || this.#refuse('settings', 'SETTINGS frames');
      case FrameType.PING:
        return this.#buckets.pings.take(now) || this.#refuse('pings', 'PING frames');
      case FrameType.WINDOW_UPDATE:
        if (this.#earnedUpdates >= 1) {
          this.#earnedUpdates--;
          return true;
        }
        return this.#buckets.windowUpdates.take(now) || this.#refuse('windowUpdates', 'WINDOW_UPDATE frames');
      case FrameType.PUSH_PROMISE:
      case FrameType.GOAWAY:
        return true;
      default:
        // Unknown types are ignored by the receiver (RFC 9113 §4.1), so they cost only reading.
        return this.#buckets.emptyFrames.take(now) || this.#refuse('emptyFrames', 'frames of unknown types');
    }
  }

  /** A header block (HEADERS without END_HEADERS, then CONTINUATIONs) is in progress. */
  get inHeaderBlock(): boolean {
    return this.#inBlock;
  }

  /** A stream ended on our side (answered, or reset by us or by nghttp2). */
  closed(stream: number): void {
    this.#open.delete(stream);
  }

  /** Count a stream error the client caused (nghttp2 reset the stream): MadeYouReset is rapid reset by proxy. */
  chargeReset(now: number): boolean {
    if (this.violation !== null) return false;
    return this.#buckets.resets.take(now) || this.#refuse('resets', 'streams the client made us reset with stream errors');
  }

  /**
   * We sent `bytes` of response body: the client will acknowledge them with WINDOW_UPDATEs, one
   * per 4 KiB at most, for the stream and for the connection. Kept apart from the bucket (which
   * a full bucket would cap), so every byte we send keeps its credit: bounded by what we sent.
   */
  sent(bytes: number): void {
    this.#earnedBytes += bytes;
    if (this.#earnedBytes >= BYTES_PER_WINDOW_UPDATE) {
      const earned = Math.floor(this.#earnedBytes / BYTES_PER_WINDOW_UPDATE);
      this.#earnedBytes -= earned * BYTES_PER_WINDOW_UPDATE;
      this.#earnedUpdates += 2 * earned;
    }
  }

  #refuse(violation: Violation, detail: string): false {
    this.violation = violation;
    this.detail = detail;
    return false;
  }
}
