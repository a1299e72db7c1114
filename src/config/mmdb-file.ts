/**
 * Is a file a MaxMind DB (.mmdb) that the GSLB can read? The format (MaxMind DB spec 2.0) is
 *
 *   [search tree: node_count nodes of 2 x record_size bits][16 zero bytes][data]["\xAB\xCD\xEFMaxMind.com"][metadata]
 *
 * and the metadata, at most 128 KiB from the end of the file, says how big the tree is. The check
 * at config load (`checkMmdbFile`) reads that tail only, so `fulcrum check`, a reload and an admin
 * API edit stay cheap with a 70 MB GeoLite2 City file; the worker that opens the whole file runs
 * `checkMmdbBuffer`, which adds the separator test (a wrong node_count lands the tree's end in the
 * middle of something, rarely on 16 zero bytes). Metadata is decoded by mmdb-lib's own decoder.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseMetadata } from 'mmdb-lib/lib/metadata.js';
import type { ParseResult } from './problem.ts';

/** "\xAB\xCD\xEFMaxMind.com": the metadata starts after the last occurrence. */
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** The spec's bound on the metadata section, marker included. */
const METADATA_MAX_BYTES = 128 * 1024;
const SEPARATOR_BYTES = 16;

export interface MmdbInfo {
  databaseType: string;
  ipVersion: 4 | 6;
  recordSize: 24 | 28 | 32;
  nodeCount: number;
  /** Where the data section starts: the tree's bytes plus the 16-byte separator. */
  dataOffset: number;
  buildEpoch: Date;
}

/** What to tell the user after the reason, whatever it is. */
const REMEDY = 'download the GeoLite2 or GeoIP2 City or Country database again, or set geoipDatabase: null';

/** The metadata check, reading the last 128 KiB of `path` only. */
export function checkMmdbFile(path: string): ParseResult<MmdbInfo> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { ok: false, message: `cannot read the GeoIP database ${path}: ${errnoReason(error)}` };
  }
  try {
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, METADATA_MAX_BYTES);
    const tail = Buffer.alloc(tailLength);
    let read = 0;
    while (read < tailLength) {
      const n = readSync(fd, tail, read, tailLength - read, size - tailLength + read);
      if (n === 0) break;
      read += n;
    }
    return metadataOf(path, tail.subarray(0, read), size - tailLength);
  } catch (error) {
    return { ok: false, message: `cannot read the GeoIP database ${path}: ${errnoReason(error)}` };
  } finally {
    closeSync(fd);
  }
}

/** The whole-file check: the metadata, then the 16 zero bytes between the tree and the data. */
export function checkMmdbBuffer(path: string, buffer: Buffer): ParseResult<MmdbInfo> {
  const start = Math.max(0, buffer.length - METADATA_MAX_BYTES);
  const info = metadataOf(path, buffer.subarray(start), start);
  if (!info.ok) return info;
  const separator = buffer.subarray(info.value.dataOffset - SEPARATOR_BYTES, info.value.dataOffset);
  if (separator.some((byte) => byte !== 0)) {
    return fail(path, `the ${SEPARATOR_BYTES} zero bytes that must follow its search tree (${info.value.nodeCount} nodes) are not there: the file is corrupt`);
  }
  return info;
}

/** `tail`: the file's bytes from `tailStart` to its end. */
function metadataOf(path: string, tail: Buffer, tailStart: number): ParseResult<MmdbInfo> {
  const markerAt = tail.lastIndexOf(METADATA_MARKER);
  if (markerAt < 0) {
    return fail(path, 'no MaxMind DB metadata in its last 128 KiB (a GeoIP Legacy .dat file, a partial download, or not a database at all)');
  }
  let metadata: ReturnType<typeof parseMetadata>;
  try {
    metadata = parseMetadata(tail.subarray(markerAt));
  } catch (error) {
    return fail(path, `its metadata does not decode (${error instanceof Error ? error.message : String(error)})`);
  }
  if (metadata === null || typeof metadata !== 'object') return fail(path, 'its metadata does not decode');
  const { binaryFormatMajorVersion: major, ipVersion, recordSize, nodeCount, databaseType } = metadata;
  if (major !== 2) return fail(path, `binary_format_major_version is ${String(major)}; Fulcrum reads version 2 (GeoIP2, GeoLite2)`);
  if (ipVersion !== 4 && ipVersion !== 6) return fail(path, `ip_version is ${String(ipVersion)}, not 4 or 6`);
  if (recordSize !== 24 && recordSize !== 28 && recordSize !== 32) return fail(path, `record_size is ${String(recordSize)}, not 24, 28 or 32`);
  if (!Number.isSafeInteger(nodeCount) || nodeCount < 1) return fail(path, `node_count is ${String(nodeCount)}; a database has at least one node`);
  if (typeof databaseType !== 'string') return fail(path, 'its metadata has no database_type');
  const dataOffset = (nodeCount * recordSize) / 4 + SEPARATOR_BYTES;
  const markerOffset = tailStart + markerAt;
  if (dataOffset > markerOffset) {
    return fail(path, `its search tree (${nodeCount} nodes of ${recordSize}-bit records, ${dataOffset - SEPARATOR_BYTES} bytes) runs past the metadata at byte ${markerOffset}: the file is truncated or corrupt`);
  }
  return { ok: true, value: { databaseType, ipVersion, recordSize, nodeCount, dataOffset, buildEpoch: metadata.buildEpoch } };
}

function fail(path: string, reason: string): { ok: false; message: string } {
  return { ok: false, message: `${path} is not a usable MaxMind DB file: ${reason}; ${REMEDY}` };
}

export function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory, not a file';
  return error instanceof Error ? error.message : String(error);
}
