import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LINE_TOO_LONG, LineBuffer } from '../../src/ftp/lines.ts';
import { PassivePortShare } from '../../src/ftp/passive-ports.ts';
import {
  activeCommand,
  commandVerb,
  parseEprtArgument,
  parseEpsvReply,
  parsePasvReply,
  parsePortArgument,
  pasvTuple,
  replyCode,
} from '../../src/ftp/syntax.ts';
import { WaitQueue } from '../../src/pool/wait-queue.ts';

describe('ftp syntax', () => {
  it('finds the port of a 227 reply with or without parentheses, and rejects numbers past 255', () => {
    const line = '227 Entering Passive Mode (10,0,0,9,117,48).';
    const found = parsePasvReply(line)!;
    assert.equal(found.port, 117 * 256 + 48);
    assert.equal(line.slice(0, found.start) + pasvTuple('127.0.0.1', 30000) + line.slice(found.end), '227 Entering Passive Mode (127,0,0,1,117,48).');
    assert.equal(parsePasvReply('227 =10,0,0,9,4,1')?.port, 1025);
    assert.equal(parsePasvReply('227 Entering Passive Mode (10,0,0,256,4,1)'), null);
    assert.equal(parsePasvReply('227 Entering Passive Mode (10,0,0,9,0,0)'), null);
    assert.equal(parsePasvReply('227 nothing here'), null);
  });

  it('finds the port of a 229 reply, any delimiter', () => {
    const line = '229 Entering Extended Passive Mode (|||6446|)';
    const found = parseEpsvReply(line)!;
    assert.equal(found.port, 6446);
    assert.equal(line.slice(0, found.start) + '30001' + line.slice(found.end), '229 Entering Extended Passive Mode (|||30001|)');
    assert.equal(parseEpsvReply('229 ok (!!!21!)')?.port, 21);
    assert.equal(parseEpsvReply('229 ok (|||70000|)'), null);
    assert.equal(parseEpsvReply('229 ok (||6446|)'), null);
  });

  it('parses PORT and EPRT arguments, and writes the command for either family', () => {
    assert.deepEqual(parsePortArgument('127,0,0,1,200,10'), { host: '127.0.0.1', port: 200 * 256 + 10 });
    assert.equal(parsePortArgument('127,0,0,1,200'), null);
    assert.equal(parsePortArgument('127,0,0,1,256,1'), null);
    assert.equal(parsePortArgument('a,0,0,1,1,1'), null);
    assert.deepEqual(parseEprtArgument('|1|132.235.1.2|6275|'), { host: '132.235.1.2', port: 6275 });
    assert.deepEqual(parseEprtArgument('|2|1080::8:800:200C:417A|5282|'), { host: '1080::8:800:200C:417A', port: 5282 });
    assert.equal(parseEprtArgument('|1|1080::8|5282|'), null);
    assert.equal(parseEprtArgument('|1|1.2.3.4|0|'), null);
    assert.equal(parseEprtArgument('|1|1.2.3.4|5|x'), null);
    assert.equal(activeCommand('127.0.0.1', 51201), 'PORT 127,0,0,1,200,1\r\n');
    assert.equal(activeCommand('::ffff:127.0.0.1', 51201), 'PORT 127,0,0,1,200,1\r\n');
    assert.equal(activeCommand('::1', 51201), 'EPRT |2|::1|51201|\r\n');
  });

  it('reads command verbs, tolerates the Telnet prefix of ABOR, and calls binary data garbage', () => {
    assert.equal(commandVerb('retr file name.txt'), 'RETR');
    assert.equal(commandVerb('NOOP'), 'NOOP');
    assert.equal(commandVerb(''), '');
    assert.equal(commandVerb('\xff\xf4\xff\xf2ABOR'), 'ABOR');
    assert.equal(commandVerb('\xff\xf4\xffABOR'), 'ABOR', 'DM went out of band');
    assert.equal(commandVerb('\x16\x03\x01'), null);
    assert.equal(commandVerb('NO\0OP'), null);
    assert.equal(commandVerb('RETR\tx'), null);
    assert.equal(commandVerb('TOOLONGVERB x'), null);
  });

  it('reads reply codes', () => {
    assert.equal(replyCode('227 Entering'), 227);
    assert.equal(replyCode('211-Features'), 211);
    assert.equal(replyCode(' EPSV'), 0);
    assert.equal(replyCode('099 x'), 0);
  });
});

describe('ftp line buffer', () => {
  it('splits lines across chunks, CR LF or LF, and keeps bytes as latin1', () => {
    const lines = new LineBuffer(16);
    lines.push(Buffer.from('US'));
    assert.equal(lines.next(), null);
    lines.push(Buffer.from('ER a\r\nPASS b\nSTOR \xe9', 'latin1'));
    assert.equal(lines.next(), 'USER a');
    assert.equal(lines.next(), 'PASS b');
    assert.equal(lines.next(), null);
    lines.push(Buffer.from('\r\n'));
    assert.equal(lines.next(), 'STOR \xe9');
    assert.equal(lines.buffered, 0);
  });

  it('reports a line past the limit, with or without its end', () => {
    const lines = new LineBuffer(8);
    lines.push(Buffer.from('123456789'));
    assert.equal(lines.next(), LINE_TOO_LONG);
    const ended = new LineBuffer(8);
    ended.push(Buffer.from('123456789\r\n'));
    assert.equal(ended.next(), LINE_TOO_LONG);
    const exact = new LineBuffer(8);
    exact.push(Buffer.from('12345678\r\n'));
    assert.equal(exact.next(), '12345678');
  });
});

describe('ftp passive port share', () => {
  it('deals the range out to workers like cards', () => {
    const range = { first: 30000, last: 30009 };
    const shares = [0, 1, 2].map((index) => new PassivePortShare(range, { index, count: 3 }));
    assert.deepEqual(shares.map((s) => s.size), [4, 3, 3]);
    for (let p = range.first; p <= range.last; p++) assert.equal(shares.filter((s) => s.owns(p)).length, 1, `port ${p}`);
    assert.ok(shares[1]!.owns(30001) && shares[1]!.owns(30004) && !shares[1]!.owns(30002));
    assert.equal(new PassivePortShare({ first: 30000, last: 30000 }, { index: 1, count: 2 }).size, 0);
  });
});

describe('ftp wait queue', () => {
  it('is first in, first out across compactions', () => {
    const q = new WaitQueue<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) assert.equal(q.shift(), i);
    q.push(5000);
    assert.equal(q.size, 2001);
    assert.equal(q.peek(), 3000);
    assert.deepEqual(q.clear().slice(-2), [4999, 5000]);
    assert.equal(q.size, 0);
    assert.equal(q.shift(), undefined);
  });
});
