/**
 * A small MaxMind DB (.mmdb) writer for tests: there is no GeoIP database on a test machine and no
 * network to fetch one, so the tests make their own, following the public format spec
 * (MaxMind DB File Format Specification 2.0):
 *
 *   [binary search tree][16 zero bytes][data section]["\xAB\xCD\xEFMaxMind.com"][metadata map]
 *
 * - The tree has node_count nodes, each two records (left: bit 0, right: bit 1) of record_size
 *   bits (24, 28 or 32). A record below node_count is a node number; node_count means "no data";
 *   above it, node_count + 16 + an offset into the data section.
 * - IPv4 networks in an ip_version 6 tree sit at ::a.b.c.d/(96 + prefix), as MaxMind writes them.
 *   The ::ffff:0:0/96 and 2002::/16 aliases of real databases are left out (readers look IPv4
 *   addresses up by walking 96 zero bits, which does not need them).
 * - Data values are encoded with the spec's types: map, utf8_string, double, uint16, uint32,
 *   uint64, array, boolean; with `pointers`, a value (key or record) met a second time is written
 *   as a pointer to the first, as MaxMind's writer does for the repeated keys of every record.
 *
 * Networks are inserted in the order given; a later, more specific network splits an earlier one
 * (the earlier data stays on the rest), so "10.0.0.0/8 then 10.1.0.0/16" nests as expected.
 */

export type MmdbValue = string | number | bigint | boolean | Typed | readonly MmdbValue[] | { readonly [key: string]: MmdbValue };

/** A number with an explicit MMDB type; plain numbers are uint32 when whole and in range, else double. */
export class Typed {
  readonly type: 'double' | 'uint16' | 'uint32' | 'uint64';
  readonly value: number | bigint;
  constructor(type: Typed['type'], value: number | bigint) {
    this.type = type;
    this.value = value;
  }
}

export const double = (value: number): Typed => new Typed('double', value);
export const uint16 = (value: number): Typed => new Typed('uint16', value);
export const uint64 = (value: number | bigint): Typed => new Typed('uint64', value);

export interface MmdbNetwork {
  /** "10.1.0.0/16", "2001:db8::/32". */
  cidr: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  ipVersion: 4 | 6;
  recordSize?: 24 | 28 | 32;
  databaseType?: string;
  /** Write repeated values as pointers (default true). */
  pointers?: boolean;
  languages?: string[];
  description?: Record<string, string>;
  /** Seconds since the epoch (default a fixed date, so the files are reproducible). */
  buildEpoch?: number;
}

export const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com', 'latin1')]);

/** A tree child: an inner node, a data value, or nothing. */
type Child = TreeNode | { data: MmdbValue } | null;
interface TreeNode {
  children: [Child, Child];
}

function isNode(child: Child): child is TreeNode {
  return child !== null && 'children' in child;
}

export function writeMmdb(networks: readonly MmdbNetwork[], options: MmdbOptions): Buffer {
  const recordSize = options.recordSize ?? 28;
  const depth = options.ipVersion === 4 ? 32 : 128;
  const root: TreeNode = { children: [null, null] };
  for (const network of networks) insert(root, network, options.ipVersion, depth);

  // Number the nodes breadth first from the root (node 0), as the spec requires of the root only.
  const nodes: TreeNode[] = [];
  const numbers = new Map<TreeNode, number>();
  for (let queue: TreeNode[] = [root]; queue.length > 0; ) {
    const next: TreeNode[] = [];
    for (const node of queue) {
      numbers.set(node, nodes.length);
      nodes.push(node);
      for (const child of node.children) if (isNode(child)) next.push(child);
    }
    queue = next;
  }
  const nodeCount = nodes.length;

  const data = new DataWriter(options.pointers ?? true);
  const recordOf = (child: Child): number => {
    if (child === null) return nodeCount;
    if (isNode(child)) return numbers.get(child)!;
    return nodeCount + 16 + data.offsetOf(child.data);
  };
  const nodeBytes = recordSize / 4;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  nodes.forEach((node, index) => writeNode(tree, index * nodeBytes, recordSize, recordOf(node.children[0]), recordOf(node.children[1])));

  const metadata = new DataWriter(false);
  metadata.write({
    node_count: nodeCount,
    record_size: uint16(recordSize),
    ip_version: uint16(options.ipVersion),
    database_type: options.databaseType ?? 'Fulcrum-Test-City',
    languages: options.languages ?? ['en'],
    binary_format_major_version: uint16(2),
    binary_format_minor_version: uint16(0),
    build_epoch: uint64(options.buildEpoch ?? 1_700_000_000),
    description: options.description ?? { en: 'Fulcrum test database' },
  });
  return Buffer.concat([tree, Buffer.alloc(16), data.bytes(), METADATA_MARKER, metadata.bytes()]);
}

function insert(root: TreeNode, network: MmdbNetwork, ipVersion: 4 | 6, depth: number): void {
  const [address = '', prefixText = ''] = network.cidr.split('/');
  const v4 = address.includes('.');
  if (!v4 && ipVersion === 4) throw new Error(`${network.cidr}: an IPv6 network in an IPv4 database`);
  let bits = v4 ? ipv4Bits(address) : ipv6Bits(address);
  let prefix = Number(prefixText);
  if (v4 && ipVersion === 6) {
    bits = [...Array<number>(96).fill(0), ...bits];
    prefix += 96;
  }
  if (bits.length !== depth || !(prefix >= 0 && prefix <= depth)) throw new Error(`${network.cidr}: not a network of this database`);
  let node = root;
  for (let i = 0; i < prefix - 1; i++) {
    const bit = bits[i]!;
    const child = node.children[bit]!;
    if (isNode(child)) {
      node = child;
      continue;
    }
    // Empty, or data of a wider network: a new node, both halves keeping what was there.
    const split: TreeNode = { children: [child, child] };
    node.children[bit] = split;
    node = split;
  }
  if (prefix === 0) throw new Error('a /0 network has no record of its own in the tree');
  node.children[bits[prefix - 1]!] = { data: network.data };
}

function ipv4Bits(address: string): number[] {
  const bytes = address.split('.').map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) throw new Error(`${address} is not an IPv4 address`);
  return bytesToBits(bytes);
}

function ipv6Bits(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) throw new Error(`${address} is not an IPv6 address (write it without an IPv4 tail)`);
  return bytesToBits(groups.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]));
}

function bytesToBits(bytes: readonly number[]): number[] {
  return bytes.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((shift) => (byte >> shift) & 1));
}

function writeNode(tree: Buffer, offset: number, recordSize: number, left: number, right: number): void {
  if (left >= 2 ** recordSize || right >= 2 ** recordSize) throw new Error(`a record does not fit ${recordSize} bits`);
  if (recordSize === 24) {
    tree.writeUIntBE(left, offset, 3);
    tree.writeUIntBE(right, offset + 3, 3);
  } else if (recordSize === 28) {
    // The middle byte holds the top 4 bits of each record: left's in its high nibble.
    tree.writeUIntBE(left & 0xffffff, offset, 3);
    tree[offset + 3] = ((left >>> 24) << 4) | (right >>> 24);
    tree.writeUIntBE(right & 0xffffff, offset + 4, 3);
  } else {
    tree.writeUInt32BE(left, offset);
    tree.writeUInt32BE(right, offset + 4);
  }
}

/** Type numbers of the spec; 8 and above are "extended" (control type 0, then type - 7 in the next byte). */
const TYPE = { pointer: 1, utf8: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 } as const;

class DataWriter {
  readonly #chunks: Buffer[] = [];
  #length = 0;
  readonly #pointers: boolean;
  /** Offsets of values already written, by their encoding: a repeat becomes a pointer. */
  readonly #seen = new Map<string, number>();

  constructor(pointers: boolean) {
    this.#pointers = pointers;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** The offset of `value` in the data section, written now unless an equal value was. */
  offsetOf(value: MmdbValue): number {
    const key = keyOf(value);
    const known = this.#seen.get(key);
    if (known !== undefined) return known;
    const offset = this.#length;
    this.write(value);
    this.#seen.set(key, offset);
    return offset;
  }

  write(value: MmdbValue): void {
    if (this.#pointers && (typeof value === 'string' || isMap(value))) {
      const key = keyOf(value);
      const known = this.#seen.get(key);
      if (known !== undefined) return this.#pointer(known);
      this.#seen.set(key, this.#length);
    }
    if (typeof value === 'string') {
      const bytes = Buffer.from(value, 'utf8');
      this.#control(TYPE.utf8, bytes.length);
      this.#push(bytes);
    } else if (typeof value === 'boolean') {
      this.#control(TYPE.boolean, value ? 1 : 0);
    } else if (typeof value === 'bigint') {
      this.#unsigned(TYPE.uint64, value, 8);
    } else if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) this.#unsigned(TYPE.uint32, BigInt(value), 4);
      else this.#double(value);
    } else if (value instanceof Typed) {
      if (value.type === 'double') this.#double(Number(value.value));
      else this.#unsigned(TYPE[value.type], BigInt(value.value), value.type === 'uint16' ? 2 : value.type === 'uint32' ? 4 : 8);
    } else if (Array.isArray(value)) {
      this.#control(TYPE.array, value.length);
      for (const item of value as readonly MmdbValue[]) this.write(item);
    } else {
      const entries = Object.entries(value as Record<string, MmdbValue>);
      this.#control(TYPE.map, entries.length);
      for (const [key, item] of entries) {
        this.write(key);
        this.write(item);
      }
    }
  }

  #double(value: number): void {
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    this.#control(TYPE.double, 8);
    this.#push(bytes);
  }

  /** Unsigned integers take as few big-endian bytes as their value needs (0 takes none). */
  #unsigned(type: number, value: bigint, maxBytes: number): void {
    if (value < 0n || value >= 1n << BigInt(maxBytes * 8)) throw new Error(`${value} does not fit ${maxBytes * 8} bits`);
    const bytes: number[] = [];
    for (let rest = value; rest > 0n; rest >>= 8n) bytes.unshift(Number(rest & 0xffn));
    this.#control(type, bytes.length);
    this.#push(Buffer.from(bytes));
  }

  /** Pointer forms by size: 11, 19, 27 bits (with biases 0, 2048, 526336), or 32 bits. */
  #pointer(target: number): void {
    if (target < 2048) return this.#push(Buffer.from([0x20 | (target >> 8), target & 0xff]));
    if (target < 526336) {
      const v = target - 2048;
      return this.#push(Buffer.from([0x28 | (v >> 16), (v >> 8) & 0xff, v & 0xff]));
    }
    if (target < 134744064) {
      const v = target - 526336;
      return this.#push(Buffer.from([0x30 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]));
    }
    const bytes = Buffer.alloc(5);
    bytes[0] = 0x38;
    bytes.writeUInt32BE(target, 1);
    this.#push(bytes);
  }

  /** The control byte: type in the top 3 bits (0 = extended), size in the low 5 with 1 to 3 more bytes past 28. */
  #control(type: number, size: number): void {
    const head = type > 7 ? 0 : type << 5;
    const extended = type > 7 ? [type - 7] : [];
    let sizeBits: number;
    let sizeBytes: number[];
    if (size < 29) {
      sizeBits = size;
      sizeBytes = [];
    } else if (size < 285) {
      sizeBits = 29;
      sizeBytes = [size - 29];
    } else if (size < 65821) {
      sizeBits = 30;
      sizeBytes = [(size - 285) >> 8, (size - 285) & 0xff];
    } else {
      sizeBits = 31;
      const v = size - 65821;
      sizeBytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
    }
    this.#push(Buffer.from([head | sizeBits, ...extended, ...sizeBytes]));
  }

  #push(bytes: Buffer): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }
}

function isMap(value: MmdbValue): value is { readonly [key: string]: MmdbValue } {
  return typeof value === 'object' && value !== null && !(value instanceof Typed) && !Array.isArray(value);
}

/** Equal values, equal keys: the type is part of it (1 as uint32 and 1 as double differ). */
function keyOf(value: MmdbValue): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' ? `bigint:${item}` : item instanceof Typed ? `${item.type}:${String(item.value)}` : typeof item === 'string' ? `s:${item}` : item,
  );
}

/** A GeoLite2-City-like record: country (with its continent) and a position. */
export function cityRecord(place: { country?: string; continent?: string; lat?: number; lon?: number; city?: string }): MmdbValue {
  const record: Record<string, MmdbValue> = {};
  if (place.city !== undefined) record['city'] = { geoname_id: 1, names: { en: place.city } };
  if (place.continent !== undefined) record['continent'] = { code: place.continent, geoname_id: 2, names: { en: place.continent } };
  if (place.country !== undefined) record['country'] = { geoname_id: 3, iso_code: place.country, names: { en: place.country } };
  if (place.lat !== undefined && place.lon !== undefined) record['location'] = { accuracy_radius: uint16(20), latitude: double(place.lat), longitude: double(place.lon), time_zone: 'Europe/Brussels' };
  if (place.country !== undefined) record['registered_country'] = { geoname_id: 3, iso_code: place.country, names: { en: place.country } };
  return record;
}
