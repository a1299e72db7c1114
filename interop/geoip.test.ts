/**
 * The test MMDB writer (test/helpers/mmdb-writer.ts), which the hermetic GeoIP tests build their
 * databases with, checked against MaxMind's own C reader, libmaxminddb's mmdblookup: a writer
 * that only agrees with the reader Fulcrum uses (mmdb-lib) could share its mistakes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ipv4PrefixLength } from '../src/gslb/geoip.ts';
import { writeMmdb } from '../test/helpers/mmdb-writer.ts';
import { peer, requirePeers } from './peers.ts';
import { NETWORKS } from '../test/gslb/geoip-networks.ts';


describe('the MMDB writer against libmaxminddb (mmdblookup)', () => {
  let dir = '';
  before(async () => {
    requirePeers('mmdblookup');
    dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-mmdb-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  for (const recordSize of [24, 28, 32] as const) {
    it(`reads what the writer wrote: IPv6 tree, ${recordSize}-bit records`, async () => {
      const file = path.join(dir, `libmaxminddb-${recordSize}.mmdb`);
      await writeFile(file, writeMmdb(NETWORKS, { ipVersion: 6, recordSize }));
      const mmdblookup = peer('mmdblookup');
      const lookup = (ip: string, ...keys: string[]) => execFileSync(mmdblookup, ['--file', file, '--ip', ip, ...keys], { encoding: 'utf8' });
      assert.match(lookup('198.18.200.1', 'country', 'iso_code'), /"NL" <utf8_string>/);
      assert.match(lookup('198.18.7.1', 'country', 'iso_code'), /"US" <utf8_string>/);
      assert.match(lookup('198.19.3.4', 'location', 'latitude'), /50\.85\d* <double>/);
      assert.match(lookup('198.19.3.4', 'city', 'names', 'en'), /"Brussels" <utf8_string>/);
      assert.match(lookup('2001:db8:5501::1', 'continent', 'code'), /"NA" <utf8_string>/);
      // libmaxminddb counts an IPv4 network's prefix in the 128-bit tree: 96 + 16. Fulcrum's
      // reader takes either convention back to 16 (ipv4PrefixLength).
      const verbose = execFileSync(mmdblookup, ['--verbose', '--file', file, '--ip', '198.19.3.4'], { encoding: 'utf8' });
      assert.match(verbose, /Record prefix length: 112/);
      assert.equal(ipv4PrefixLength(112), 16);
      assert.throws(
        () => execFileSync(mmdblookup, ['--file', file, '--ip', '10.0.0.1'], { stdio: 'pipe' }),
        (error: { stderr?: Buffer }) => /Could not find an entry/.test(String(error.stderr)),
      );
    });
  }
});
