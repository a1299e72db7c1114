// Checks every answer of the suite shares: it is the response to that query, byte for byte where
// RFC 1035 says the question is copied, plus a byte-level walk of the names in a message.
import assert from 'node:assert/strict';
import type { Reply } from './client.ts';

/** The question section of a message with one question: from byte 12 to the end of QTYPE and QCLASS. */
export function questionBytes(message: Buffer): Buffer {
  let pos = 12;
  while (message[pos] !== 0) {
    if ((message[pos]! & 0xc0) !== 0) throw new Error('a compression pointer in a question');
    pos += message[pos]! + 1;
  }
  return message.subarray(12, pos + 1 + 4);
}

/**
 * `reply` answers `query`: QR set, the same ID and opcode, RD and CD copied, RA clear (an
 * authoritative server offers no recursion), the question copied byte for byte (its case too).
 */
export function assertAnswers(reply: Reply, query: Buffer): void {
  const bytes = reply.bytes;
  assert.ok(bytes.length >= 12, 'a whole header');
  assert.equal(bytes.readUInt16BE(0), query.readUInt16BE(0), 'the ID is echoed');
  const flags = bytes.readUInt16BE(2);
  const queryFlags = query.readUInt16BE(2);
  assert.equal(flags & 0x8000, 0x8000, 'QR set');
  assert.equal(flags & 0x7800, queryFlags & 0x7800, 'the opcode is echoed');
  assert.equal(flags & 0x0100, queryFlags & 0x0100, 'RD is copied');
  assert.equal(flags & 0x0010, queryFlags & 0x0010, 'CD is copied');
  assert.equal(flags & 0x0080, 0, 'RA clear: no recursion here');
  assert.equal(bytes.readUInt16BE(4), 1, 'QDCOUNT 1');
  assert.deepEqual(questionBytes(bytes), questionBytes(query), 'the question is copied byte for byte');
}

export interface NameAt {
  /** Where the name starts. */
  offset: number;
  /** Where the name ends in the message (after its final zero byte or pointer). */
  end: number;
  /** It ends in a compression pointer. */
  compressed: boolean;
  /** The name as read, following pointers, in lower case. */
  text: string;
}

/** Reads the name at `offset`, following pointers; throws on a forward or looping pointer. */
export function readName(message: Buffer, offset: number): NameAt {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  let ceiling = offset;
  let compressed = false;
  for (;;) {
    const length = message[pos];
    if (length === undefined) throw new Error(`name at ${offset} runs past the message`);
    if (length === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      const target = ((length & 0x3f) << 8) | message[pos + 1]!;
      if (target >= ceiling) throw new Error(`pointer at ${pos} to ${target} does not point backwards`);
      if (end < 0) {
        end = pos + 2;
        compressed = true;
      }
      ceiling = target;
      pos = target;
      continue;
    }
    labels.push(message.subarray(pos + 1, pos + 1 + length).toString('latin1').toLowerCase());
    pos += length + 1;
  }
  return { offset, end, compressed, text: labels.join('.') };
}

export interface RecordAt {
  owner: NameAt;
  type: number;
  /** Where RDATA starts and its length. */
  rdata: number;
  rdlength: number;
}

/** Every record after the question, with its owner name as written (pointer or not). */
export function walkRecords(message: Buffer): RecordAt[] {
  const counts = [6, 8, 10].map((at) => message.readUInt16BE(at));
  let pos = readName(message, 12).end + 4;
  const records: RecordAt[] = [];
  for (const count of counts) {
    for (let i = 0; i < count; i++) {
      const owner = readName(message, pos);
      const type = message.readUInt16BE(owner.end);
      const rdlength = message.readUInt16BE(owner.end + 8);
      records.push({ owner, type, rdata: owner.end + 10, rdlength });
      pos = owner.end + 10 + rdlength;
    }
  }
  assert.equal(pos, message.length, 'the records end where the message ends');
  return records;
}
