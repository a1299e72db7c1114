/**
 * The GeoIP source of locate.ts: a MaxMind DB file (GeoLite2/GeoIP2 City or Country, or any
 * database with their record layout) read from one Buffer holding the whole file, so a worker's
 * memory grows by the file's size (GeoLite2-City ~70 MB, GeoLite2-Country ~9 MB).
 *
 * A record becomes a Place:
 * - country: `country.iso_code`, upper case; a code no continent list knows is dropped;
 * - continent: `continent.code`, else the country's (continents.ts);
 * - lat and lon: `location.latitude` and `location.longitude`, both or neither;
 * - `registered_country` (where the network's owner registered it) stands in for `country` only
 *   when the record has neither a country nor a continent: MaxMind leaves networks unplaced
 *   mostly where it has no better evidence than the registration, and for a GSLB a site in the
 *   registrant's country is a better guess than "anywhere" (the fixed-weight default), while a
 *   wrong guess costs a farther site, not a failure. A record placed on a continent only (some
 *   networks are just "EU") keeps that continent rather than mixing in a registration that may
 *   lie elsewhere. `represented_country` (embassies, military bases) is not used.
 *
 * The query path walks the search tree itself, on the address bytes, with no allocation, and
 * keeps each record's Place by the record's data pointer: a record is decoded (by mmdb-lib's
 * getWithPrefixLength, whose prefix length must match the walk's) once, not per query. The
 * cost is the point: decoding a City record (names in several languages) takes ~10 us, so
 * decoding per query caps a core near 100k location lookups/s, below the DNS path's budget; the
 * walk and a Map hit run at ~3M/s (measured on the tests' City-like records). Places are
 * interned this way too, and policies memoise answers per Place object (policies.ts). A record
 * that fails to decode (a data section corrupt past what the checks at open see) places its
 * network nowhere and counts in `lookupErrors`: a query never fails because of the database.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { Reader, type Response } from 'mmdb-lib';
import { checkMmdbBuffer, errnoReason, type MmdbInfo } from '../config/mmdb-file.ts';
import { ErrorCode, FulcrumError } from '../errors.ts';
import { continentOf } from './continents.ts';
import { type AddressFamily, CONTINENTS, type Continent, type GeoIpSource, type Place } from './types.ts';

/**
 * Places kept per data pointer. A City database holds some hundred thousand distinct records (one
 * per city and postal area), a server's clients far fewer; a Place is ~100 bytes, so a full map
 * costs ~6 MB. When full it starts over, like the policies' memo.
 */
const PLACE_CACHE_ENTRIES = 65536;

/** The parts of a GeoIP2 record this reads; anything may be missing or of another type. */
interface GeoRecord {
  country?: { iso_code?: unknown };
  registered_country?: { iso_code?: unknown };
  continent?: { code?: unknown };
  location?: { latitude?: unknown; longitude?: unknown };
}

export interface GeoIpLookup {
  /** null: the database holds this network but nothing that places it. */
  place: Place | null;
  /** Of the address's network in the database, counted in the address's own family (IPv4: 0..32). */
  prefixLength: number;
}

export class GeoIpDatabase implements GeoIpSource {
  readonly path: string;
  readonly info: MmdbInfo;
  /** The file's size in bytes: what this database costs each worker. */
  readonly size: number;
  /** Records that failed to decode (a corrupt data section): each counted once and answered as "nowhere". */
  lookupErrors = 0;
  readonly #buffer: Buffer;
  readonly #reader: Reader<Response>;
  readonly #nodeCount: number;
  /** Where an IPv4 address's walk starts: 96 zero bits down an IPv6 tree (mmdb-lib does the same). */
  readonly #ipv4Start: number;
  readonly #places = new Map<number, Place | null>();
  /** Reused: read it before the next lookup (locate.ts does). */
  readonly #result: GeoIpLookup = { place: null, prefixLength: 0 };

  private constructor(path: string, buffer: Buffer, info: MmdbInfo) {
    this.path = path;
    this.info = info;
    this.size = buffer.length;
    this.#buffer = buffer;
    this.#nodeCount = info.nodeCount;
    this.#reader = new Reader<Response>(buffer);
    let node = 0;
    for (let depth = 0; info.ipVersion === 6 && depth < 96 && node < this.#nodeCount; depth++) node = this.#child(node, 0);
    this.#ipv4Start = node;
  }

  /** Read `path` whole and check it; a FulcrumError that names the file when it is not a usable database. */
  static open(path: string): GeoIpDatabase {
    return GeoIpDatabase.fromBuffer(path, readWhole(path).buffer);
  }

  static fromBuffer(path: string, buffer: Buffer): GeoIpDatabase {
    const checked = checkMmdbBuffer(path, buffer);
    if (!checked.ok) throw new FulcrumError(ErrorCode.CONFIG_INVALID, `gslb.geoipDatabase: ${checked.message}`);
    try {
      return new GeoIpDatabase(path, buffer, checked.value);
    } catch (error) {
      throw new FulcrumError(ErrorCode.CONFIG_INVALID, `gslb.geoipDatabase: ${path} is not a usable MaxMind DB file: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  lookup(family: AddressFamily, bytes: Uint8Array): GeoIpLookup | null {
    // An IPv4 tree says nothing about IPv6.
    if (family === 6 && this.info.ipVersion === 4) return null;
    const nodeCount = this.#nodeCount;
    const bits = family === 4 ? 32 : 128;
    let node = family === 4 ? this.#ipv4Start : 0;
    let depth = 0;
    for (; depth < bits && node < nodeCount; depth++) node = this.#child(node, (bytes[depth >> 3]! >> (7 - (depth & 7))) & 1);
    const result = this.#result;
    result.prefixLength = depth;
    // node_count: no data here. Below it after every bit: a tree deeper than addresses, corrupt.
    result.place = node > nodeCount ? this.#placeAt(node, family, bytes, depth) : null;
    return result;
  }

  /** The left (0) or right (1) record of a node. */
  #child(node: number, bit: number): number {
    const buffer = this.#buffer;
    switch (this.info.recordSize) {
      case 24: {
        const at = node * 6 + bit * 3;
        return (buffer[at]! << 16) | (buffer[at + 1]! << 8) | buffer[at + 2]!;
      }
      case 28: {
        // The middle byte holds the top 4 bits of both records: the left's in its high nibble.
        const at = node * 7;
        const high = bit === 0 ? buffer[at + 3]! >> 4 : buffer[at + 3]! & 0x0f;
        const low = bit === 0 ? at : at + 4;
        return high * 0x1000000 + ((buffer[low]! << 16) | (buffer[low + 1]! << 8) | buffer[low + 2]!);
      }
      case 32:
        return buffer.readUInt32BE(node * 8 + bit * 4);
    }
  }

  /**
   * The Place of the record at a data pointer: decoded the first time, kept after. mmdb-lib walks
   * the tree again to decode it; a prefix length other than the walk's here means the two read
   * the tree differently, and the record is not trusted.
   */
  #placeAt(pointer: number, family: AddressFamily, bytes: Uint8Array, prefixLength: number): Place | null {
    const places = this.#places;
    let place = places.get(pointer);
    if (place !== undefined) return place;
    try {
      const [record, reported] = this.#reader.getWithPrefixLength(family === 4 ? ipv4Text(bytes) : ipv6Text(bytes));
      if ((family === 4 ? ipv4PrefixLength(reported) : reported) !== prefixLength) throw new Error('the readers disagree');
      place = record !== null && typeof record === 'object' ? placeOfRecord(record as GeoRecord) : null;
    } catch {
      // Once per record: it is kept as "nowhere" like any other.
      this.lookupErrors++;
      place = null;
    }
    if (places.size >= PLACE_CACHE_ENTRIES) places.clear();
    places.set(pointer, place);
    return place;
  }
}

/**
 * The prefix length of an IPv4 address's network, in IPv4 bits, from a reader's. mmdb-lib 3.0.3
 * starts IPv4 lookups in an IPv6 tree at the node 96 zero bits down and counts from there, as the
 * walk here does, so it gives 0..32 (16 for 10.1.0.0/16; libmaxminddb's mmdblookup says 112). A
 * reader counting in the 128-bit space gives 96 + n: taken back to n. A value from a network
 * wider than the whole IPv4 space (::/64, say) is at most 96 and means 0; read as IPv4 bits it
 * only narrows the scope, which is safe (RFC 7871 lets a scope be longer than it needs to be).
 */
export function ipv4PrefixLength(reported: number): number {
  return reported > 32 ? Math.max(0, reported - 96) : reported;
}

/** A GeoIP2 record as a Place; null when it holds nothing that places the network. See the module comment. */
export function placeOfRecord(record: GeoRecord): Place | null {
  const continentCode = typeof record.continent?.code === 'string' ? record.continent.code.toUpperCase() : null;
  let continent: Continent | null = continentCode !== null && (CONTINENTS as readonly string[]).includes(continentCode) ? (continentCode as Continent) : null;
  let country = countryCode(record.country?.iso_code);
  if (country === null && continent === null) country = countryCode(record.registered_country?.iso_code);
  continent ??= country === null ? null : continentOf(country);
  const lat = record.location?.latitude;
  const lon = record.location?.longitude;
  const hasPoint = typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  if (country === null && continent === null && !hasPoint) return null;
  return { country, continent, lat: hasPoint ? lat : null, lon: hasPoint ? lon : null };
}

function countryCode(value: unknown): string | null {
  if (typeof value !== 'string' || value.length !== 2) return null;
  const code = value.toUpperCase();
  return continentOf(code) === null ? null : code;
}

function ipv4Text(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Eight hex groups, uncompressed: what mmdb-lib parses fastest (no "::" to expand). */
function ipv6Text(bytes: Uint8Array): string {
  let text = ((bytes[0]! << 8) | bytes[1]!).toString(16);
  for (let i = 2; i < 16; i += 2) text += `:${((bytes[i]! << 8) | bytes[i + 1]!).toString(16)}`;
  return text;
}

/** What identifies one version of a file: a replaced file (geoipupdate renames into place) has a new inode. */
interface FileVersion {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

function readWhole(path: string): { buffer: Buffer; version: FileVersion } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new FulcrumError(ErrorCode.CONFIG_INVALID, `gslb.geoipDatabase: cannot read the GeoIP database ${path}: ${errnoReason(error)}`);
  }
  try {
    // The version from the descriptor that is read: a file replaced meanwhile is noticed next time.
    const { dev, ino, size, mtimeMs } = fstatSync(fd);
    return { buffer: readFileSync(fd), version: { dev, ino, size, mtimeMs } };
  } catch (error) {
    throw new FulcrumError(ErrorCode.CONFIG_INVALID, `gslb.geoipDatabase: cannot read the GeoIP database ${path}: ${errnoReason(error)}`);
  } finally {
    closeSync(fd);
  }
}

/** The database the running config uses, kept across reloads while its file stays the same. */
let current: { path: string; version: FileVersion; database: GeoIpDatabase } | null = null;

/**
 * The database at `path`: the one already open when the path, inode, size and mtime are those it
 * was read with (a reload then costs a stat), else the file read anew. One is kept: a config
 * names one file, and a changed file replaces the old reader (the old config keeps its own until
 * its engine is dropped). Throws a FulcrumError naming the file when it is not a usable database.
 */
export function openGeoIpDatabase(path: string): GeoIpDatabase {
  if (current !== null && current.path === path) {
    let same = false;
    try {
      const { dev, ino, size, mtimeMs } = statSync(path);
      const was = current.version;
      same = dev === was.dev && ino === was.ino && size === was.size && mtimeMs === was.mtimeMs;
    } catch {
      // Gone or unreadable: readWhole below says so.
    }
    if (same) return current.database;
  }
  const { buffer, version } = readWhole(path);
  const database = GeoIpDatabase.fromBuffer(path, buffer);
  current = { path, version, database };
  return database;
}
