// Queries built with dns-packet (the independent reference) and by hand, for the wire tests.
import { encode, type Packet } from 'dns-packet';

export interface QueryOptions {
  id?: number;
  flags?: number;
  type?: string;
  /** The class; IN unless given. */
  qclass?: 'IN' | 'CH' | 'HS' | 'ANY';
  edns?: { udpPayloadSize?: number; version?: number; do?: boolean; ecs?: { family: number; source: number; ip: string; scope?: number } };
}

export function packetQuery(name: string, options: QueryOptions = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: options.id ?? 0x1234,
    flags: options.flags ?? 0x0100,
    questions: [{ name, type: (options.type ?? 'A') as 'A', class: options.qclass ?? 'IN' }],
  };
  const edns = options.edns;
  if (edns !== undefined) {
    const ecs = edns.ecs;
    packet.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: edns.udpPayloadSize ?? 1232,
        extendedRcode: 0,
        ednsVersion: edns.version ?? 0,
        flags: edns.do === true ? 0x8000 : 0,
        options:
          ecs === undefined
            ? []
            : [{ code: 'CLIENT_SUBNET', family: ecs.family, sourcePrefixLength: ecs.source, scopePrefixLength: ecs.scope ?? 0, ip: ecs.ip }],
      } as never,
    ];
  }
  return encode(packet);
}

/** The wire form of a dotted name, written by hand (no checks: tests use it to break rules). */
export function wireName(name: string): Buffer {
  const parts: number[] = [];
  for (const label of name.length === 0 ? [] : name.split('.')) {
    parts.push(label.length, ...Buffer.from(label, 'latin1'));
  }
  parts.push(0);
  return Buffer.from(parts);
}

export function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(fields.id ?? 0x4242, 0);
  buf.writeUInt16BE(fields.flags ?? 0x0100, 2);
  buf.writeUInt16BE(fields.qd ?? 1, 4);
  buf.writeUInt16BE(fields.an ?? 0, 6);
  buf.writeUInt16BE(fields.ns ?? 0, 8);
  buf.writeUInt16BE(fields.ar ?? 0, 10);
  return buf;
}

export function u16(...values: number[]): Buffer {
  const buf = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => buf.writeUInt16BE(v, i * 2));
  return buf;
}

/** An OPT record: root owner, TYPE 41, size, ext-rcode, version, flags, options (raw). */
export function optRecord(fields: { size?: number; version?: number; flags?: number; options?: Buffer } = {}): Buffer {
  const options = fields.options ?? Buffer.alloc(0);
  const buf = Buffer.alloc(11 + options.length);
  buf.writeUInt16BE(41, 1);
  buf.writeUInt16BE(fields.size ?? 1232, 3);
  buf[6] = fields.version ?? 0;
  buf.writeUInt16BE(fields.flags ?? 0, 7);
  buf.writeUInt16BE(options.length, 9);
  options.copy(buf, 11);
  return buf;
}

/** An ECS option (code 8) with raw address bytes. */
export function ecsOption(family: number, source: number, scope: number, address: number[]): Buffer {
  return Buffer.concat([u16(8, 4 + address.length, family), Buffer.from([source, scope, ...address])]);
}

/** Question for `name` type A class IN. */
export function question(name: string, type = 1): Buffer {
  return Buffer.concat([wireName(name), u16(type, 1)]);
}

/** Header fields dns-packet decodes but its types leave out. */
export function headerText(packet: object): { rcode: string; opcode: string } {
  return packet as { rcode: string; opcode: string };
}
