// Issue 5, GeoIP: a MaxMind DB file places clients that `locations` does not. No GeoIP database
// ships with the machine and nothing can be downloaded, so the tests write their own
// (test/helpers/mmdb-writer.ts), checked first against mmdb-lib and, where installed, against
// libmaxminddb's mmdblookup; then the reader (src/gslb/geoip.ts) behind a LocationTable, and a
// real Fulcrum answering ECS queries from a database network with that country's site.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode, encode, type OptAnswer, type StringAnswer } from 'dns-packet';
import fc from 'fast-check';
import { Reader, type CityResponse } from 'mmdb-lib';
import { checkMmdbFile } from '../../src/config/mmdb-file.ts';
import { loadConfigText } from '../../src/config/load.ts';
import { FulcrumError } from '../../src/errors.ts';
import { locationTableOf } from '../../src/gslb/from-config.ts';
import { GeoIpDatabase, ipv4PrefixLength, openGeoIpDatabase, placeOfRecord } from '../../src/gslb/geoip.ts';
import { parseIpInto } from '../../src/ip/bytes.ts';
import { LocationTable, type LocationEntryText } from '../../src/gslb/locate.ts';
import { freePort, fulcrumBin, startFulcrum, type Fulcrum } from '../helpers/fulcrum.ts';
import { cityRecord, double, type MmdbNetwork, METADATA_MARKER, writeMmdb } from '../helpers/mmdb-writer.ts';
import { NETWORKS } from './geoip-networks.ts';

/** The test world: US and BE /16s, a Dutch /24 inside the US one, IPv6 networks for BE and US. */

function bytesOf(address: string): Uint8Array {
  const bytes = new Uint8Array(16);
  assert.notEqual(parseIpInto(address, bytes), 0, address);
  return bytes;
}

function table(database: GeoIpDatabase, entries: LocationEntryText[] = []): LocationTable {
  const built = LocationTable.build(entries, database);
  assert.ok(built.ok, built.ok ? '' : built.message);
  return built.value;
}

/** A LocationTable answer by ECS subnet, as plain data. */
function bySubnet(t: LocationTable, address: string, source: number) {
  const bytes = bytesOf(address);
  const family = address.includes(':') ? 6 : 4;
  const { location, scope } = t.locateSubnet(family, bytes, 0, Math.ceil(source / 8), source);
  return { country: location?.country ?? null, scope };
}

function byAddress(t: LocationTable, address: string) {
  const { location, scope } = t.locateAddress(address);
  return { country: location?.country ?? null, continent: location?.continent ?? null, scope };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fulcrum-geoip-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function databaseFile(name: string, content: Buffer | string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('the test MMDB writer', () => {
  for (const ipVersion of [4, 6] as const) {
    for (const recordSize of [24, 28, 32] as const) {
      for (const pointers of [true, false]) {
        it(`reads back through mmdb-lib: IPv${ipVersion} tree, ${recordSize}-bit records, pointers ${pointers ? 'on' : 'off'}`, () => {
          const networks = NETWORKS.filter((n) => ipVersion === 6 || !n.cidr.includes(':'));
          const reader = new Reader<CityResponse>(writeMmdb(networks, { ipVersion, recordSize, pointers }));
          assert.equal(reader.metadata.ipVersion, ipVersion);
          assert.equal(reader.metadata.recordSize, recordSize);
          assert.equal(reader.metadata.binaryFormatMajorVersion, 2);
          assert.equal(reader.metadata.databaseType, 'Fulcrum-Test-City');
          const at = (ip: string) => {
            const [record, prefixLength] = reader.getWithPrefixLength(ip);
            return [record?.country?.iso_code ?? null, record?.location?.latitude ?? null, prefixLength];
          };
          assert.deepEqual(at('198.18.1.1'), ['US', 40.7, 17]); // the /16 split around the NL /24
          assert.deepEqual(at('198.18.200.9'), ['NL', 52.37, 24]);
          assert.deepEqual(at('198.19.255.255'), ['BE', 50.85, 16]);
          assert.deepEqual(at('10.0.0.1'), [null, null, 1]); // 0.0.0.0/1 holds no network
          assert.equal(reader.get('198.19.0.1')?.city?.names.en, 'Brussels');
          if (ipVersion === 6) {
            assert.deepEqual(at('2001:db8:be::77'), ['BE', 50.85, 48]);
            assert.deepEqual(at('2001:db8:55ff::1'), ['US', null, 40]);
          }
        });
      }
    }
  }

  it('pointers of each size (11, 19 and 27 bits) and long strings decode', () => {
    // Each record repeats the previous record's tag: pointers to offsets from 0 to ~620 KB.
    const networks: MmdbNetwork[] = [];
    for (let i = 0; i < 600; i++) {
      networks.push({ cidr: `100.${64 + (i >> 8)}.${i & 255}.0/24`, data: { blob: `${'x'.repeat(1000)}${i}`, tag: `tag-${i}`, previous: `tag-${Math.max(0, i - 1)}`, ratio: double(i / 7) } });
    }
    const buffer = writeMmdb(networks, { ipVersion: 4, recordSize: 24 });
    assert.ok(buffer.length > 600_000);
    const reader = new Reader<Record<string, unknown>>(buffer);
    for (const i of [0, 1, 2, 3, 300, 527, 599]) {
      const [record, prefixLength] = reader.getWithPrefixLength(`100.${64 + (i >> 8)}.${i & 255}.9`);
      assert.deepEqual(record, { blob: `${'x'.repeat(1000)}${i}`, tag: `tag-${i}`, previous: `tag-${Math.max(0, i - 1)}`, ratio: i / 7 });
      assert.equal(prefixLength, 24);
    }
  });

});

describe('GSLB GeoIP: the database behind the locations table', () => {
  const v6 = GeoIpDatabase.fromBuffer('v6.mmdb', writeMmdb(NETWORKS, { ipVersion: 6, recordSize: 28 }));
  const v4 = GeoIpDatabase.fromBuffer('v4.mmdb', writeMmdb(NETWORKS.filter((n) => !n.cidr.includes(':')), { ipVersion: 4, recordSize: 24 }));

  it('by address: the record\'s country and continent, the database network\'s prefix as scope', () => {
    for (const database of [v4, v6]) {
      const t = table(database);
      assert.deepEqual(byAddress(t, '198.19.77.1'), { country: 'BE', continent: 'EU', scope: 16 });
      assert.deepEqual(byAddress(t, '198.18.200.200'), { country: 'NL', continent: 'EU', scope: 24 });
      assert.deepEqual(byAddress(t, '198.18.3.3'), { country: 'US', continent: 'NA', scope: 17 });
      assert.deepEqual(byAddress(t, '::ffff:198.19.0.1'), { country: 'BE', continent: 'EU', scope: 16 }); // a dual-stack socket's IPv4 client
    }
  });

  it('the place: country upper case, continent, latitude and longitude; one Place object per record', () => {
    const first = v6.lookup(4, bytesOf('198.19.1.1'));
    assert.deepEqual(first, { place: { country: 'BE', continent: 'EU', lat: 50.85, lon: 4.35 }, prefixLength: 16 });
    const place = first?.place;
    assert.equal(v6.lookup(4, bytesOf('198.19.200.1'))?.place, place); // policies memoise answers per Place object
  });

  it('by ECS subnet: the subnet\'s network; the scope is the database network\'s, not the source\'s', () => {
    const t = table(v6);
    assert.deepEqual(bySubnet(t, '198.19.7.0', 24), { country: 'BE', scope: 16 });
    assert.deepEqual(bySubnet(t, '198.18.200.0', 24), { country: 'NL', scope: 24 });
    assert.deepEqual(bySubnet(t, '198.18.200.128', 25), { country: 'NL', scope: 24 });
    // A source shorter than the database network: the subnet's first address decides, scope longer than the source.
    assert.deepEqual(bySubnet(t, '198.18.0.0', 15), { country: 'US', scope: 17 });
    assert.deepEqual(bySubnet(t, '198.19.7.0', 0), { country: null, scope: 0 });
  });

  it('a locations entry wins over the database, and the database network\'s scope leaves the entry out', () => {
    const t = table(v6, [{ cidr: '198.19.5.0/24', country: 'DE' }]);
    assert.deepEqual(bySubnet(t, '198.19.5.0', 24), { country: 'DE', scope: 24 });
    // 198.19.9.0 and 198.19.5.0 share 20 bits: BE, but only for the /21 that holds no DE entry.
    assert.deepEqual(bySubnet(t, '198.19.9.0', 24), { country: 'BE', scope: 21 });
    // An entry elsewhere does not narrow the scope: a /16 network gives scope 16.
    assert.deepEqual(bySubnet(table(v6, [{ cidr: '10.1.0.0/16', country: 'DE' }]), '198.19.9.0', 24), { country: 'BE', scope: 16 });
  });

  it('IPv6: by address and by subnet', () => {
    const t = table(v6);
    assert.deepEqual(byAddress(t, '2001:db8:be::1'), { country: 'BE', continent: 'EU', scope: 48 });
    assert.deepEqual(bySubnet(t, '2001:db8:be:42::', 56), { country: 'BE', scope: 48 });
    assert.deepEqual(bySubnet(t, '2001:db8:5577::', 48), { country: 'US', scope: 40 });
  });

  it('the tree walk agrees with mmdb-lib\'s getWithPrefixLength on any address, in every record size', () => {
    for (const recordSize of [24, 28, 32] as const) {
      const buffer = writeMmdb(NETWORKS, { ipVersion: 6, recordSize });
      const database = GeoIpDatabase.fromBuffer(`agree-${recordSize}.mmdb`, buffer);
      const reader = new Reader<CityResponse>(buffer);
      const near = (prefix: number[]) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }).map((rest) => Uint8Array.from([...prefix, ...rest.slice(prefix.length)]));
      const v4 = fc.oneof(near([198, 18]), near([198, 19]), near([198]), near([]));
      const v6 = fc.oneof(near([0x20, 0x01, 0x0d, 0xb8, 0x00, 0xbe]), near([0x20, 0x01, 0x0d, 0xb8, 0x55]), near([0x20, 0x01]), near([]));
      const check = (family: 4 | 6, bytes: Uint8Array) => {
        const text = family === 4 ? bytes.subarray(0, 4).join('.') : Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16)).join(':');
        const [record, prefixLength] = reader.getWithPrefixLength(text);
        const found = database.lookup(family, bytes);
        assert.deepEqual([found?.place?.country ?? null, found?.prefixLength], [record?.country?.iso_code ?? null, family === 4 ? ipv4PrefixLength(prefixLength) : prefixLength], text);
      };
      fc.assert(fc.property(v4, (bytes) => check(4, bytes)), { numRuns: 300 });
      fc.assert(fc.property(v6, (bytes) => check(6, bytes)), { numRuns: 300 });
      assert.equal(database.lookupErrors, 0);
    }
  });

  it('IPv4 in an IPv6 database: prefix lengths in IPv4 bits (a /16 network is 16, not 112)', () => {
    assert.equal(v6.info.ipVersion, 6);
    assert.equal(v6.lookup(4, bytesOf('198.19.1.1'))?.prefixLength, 16);
    assert.equal(v6.lookup(4, bytesOf('198.18.200.1'))?.prefixLength, 24);
  });

  it('an address not in the database: nowhere, scoped to the empty network around it', () => {
    // 10/8 and 198.18/15 share no bit: the empty network around 10.0.0.1 is 0.0.0.0/1.
    assert.deepEqual(v6.lookup(4, bytesOf('10.0.0.1')), { place: null, prefixLength: 1 });
    assert.deepEqual(byAddress(table(v6), '10.0.0.1'), { country: null, continent: null, scope: 1 });
    // 198.16.0.0/15 is empty, next to 198.18.0.0/15: scope 15, not 0 (which would give located clients the unlocated answer).
    assert.deepEqual(byAddress(table(v6), '198.17.0.1'), { country: null, continent: null, scope: 15 });
    assert.deepEqual(byAddress(table(v6), '2001:db8:aaaa::1'), { country: null, continent: null, scope: 33 });
  });

  it('an IPv4-only database says nothing about IPv6 clients', () => {
    assert.equal(v4.lookup(6, bytesOf('2001:db8:be::1')), null);
    assert.deepEqual(byAddress(table(v4), '2001:db8:be::1'), { country: null, continent: null, scope: 0 });
  });

  it('records: registered_country only when nothing else places the network; continent-only records; bad values ignored', () => {
    assert.deepEqual(placeOfRecord({ registered_country: { iso_code: 'jp' } }), { country: 'JP', continent: 'AS', lat: null, lon: null });
    assert.deepEqual(placeOfRecord({ continent: { code: 'EU' }, registered_country: { iso_code: 'US' } }), { country: null, continent: 'EU', lat: null, lon: null });
    assert.deepEqual(placeOfRecord({ country: { iso_code: 'BE' }, registered_country: { iso_code: 'NL' } }), { country: 'BE', continent: 'EU', lat: null, lon: null });
    assert.deepEqual(placeOfRecord({ country: { iso_code: 'ZZ' }, location: { latitude: 1, longitude: 2 } }), { country: null, continent: null, lat: 1, lon: 2 });
    assert.deepEqual(placeOfRecord({ location: { latitude: 91, longitude: 2 }, continent: { code: 'XX' } }), null);
    assert.equal(placeOfRecord({}), null);
  });

  it('a record without a place: nowhere, with its network\'s prefix', async () => {
    const database = GeoIpDatabase.fromBuffer('asn.mmdb', writeMmdb([{ cidr: '192.0.2.0/24', data: { autonomous_system_number: 64500 } }], { ipVersion: 6 }));
    assert.deepEqual(database.lookup(4, bytesOf('192.0.2.9')), { place: null, prefixLength: 24 });
  });
});

describe('GSLB GeoIP: files, corruption and reloads', () => {
  it('a file that is not a MaxMind DB, or is truncated, is refused with the file named', async () => {
    const good = writeMmdb(NETWORKS, { ipVersion: 6 });
    const cases: [string, Buffer | string, RegExp][] = [
      ['text.mmdb', 'not a database', /no MaxMind DB metadata in its last 128 KiB/],
      ['empty.mmdb', '', /no MaxMind DB metadata/],
      ['truncated.mmdb', Buffer.concat([good.subarray(0, 100), good.subarray(good.lastIndexOf(METADATA_MARKER))]), /its search tree \(\d+ nodes of 28-bit records, \d+ bytes\) runs past the metadata at byte 100: the file is truncated or corrupt/],
      ['garbage-metadata.mmdb', Buffer.concat([good.subarray(0, good.lastIndexOf(METADATA_MARKER)), METADATA_MARKER, Buffer.from([0xff, 0xff, 0xff, 0x01])]), /its metadata does not decode|record_size/],
    ];
    for (const [name, content, reason] of cases) {
      const file = await databaseFile(name, content);
      const checked = checkMmdbFile(file);
      assert.equal(checked.ok, false, name);
      assert.match(checked.ok ? '' : checked.message, new RegExp(`^${escape(file)} is not a usable MaxMind DB file: ${reason.source}`), name);
      assert.throws(() => GeoIpDatabase.open(file), (error: unknown) => error instanceof FulcrumError && error.code === 'FULCRUM_ERR_CONFIG_INVALID' && error.message.startsWith(`gslb.geoipDatabase: ${file} is not a usable`) && reason.test(error.message), name);
    }
    assert.match(checkMmdbFile(path.join(dir, 'absent.mmdb')).ok ? '' : 'no such file', /no such file/);
  });

  it('a tree that ends off its separator passes the metadata check at load and is refused when opened', async () => {
    const buffer = writeMmdb(NETWORKS, { ipVersion: 6, recordSize: 28 });
    const nodeCount = new Reader(buffer).metadata.nodeCount;
    buffer[nodeCount * 7 + 3] = 0x42; // inside the 16 zero bytes after the tree
    const file = await databaseFile('separator.mmdb', buffer);
    assert.equal(checkMmdbFile(file).ok, true);
    assert.throws(() => GeoIpDatabase.open(file), new RegExp(`${escape(file)} is not a usable MaxMind DB file: the 16 zero bytes that must follow its search tree \\(${nodeCount} nodes\\) are not there`));
  });

  it('a corrupt data section never throws at query time: nowhere (within its network), counted', () => {
    const buffer = writeMmdb(NETWORKS, { ipVersion: 6, recordSize: 28 });
    const reader = new Reader(buffer);
    const dataStart = reader.metadata.searchTreeSize + 16;
    buffer.fill(0x1f, dataStart, buffer.lastIndexOf(METADATA_MARKER)); // 0x1f: an extended type with a size of its own past 65821
    const database = GeoIpDatabase.fromBuffer('corrupt-data.mmdb', buffer);
    for (const [ip, prefixLength] of [['198.19.1.1', 16], ['198.18.200.1', 24], ['198.18.1.1', 17]] as const) {
      assert.deepEqual(database.lookup(4, bytesOf(ip)), { place: null, prefixLength });
    }
    assert.equal(database.lookup(4, bytesOf('198.19.2.2'))?.place, null);
    assert.equal(database.lookupErrors, 3); // once per record
    assert.deepEqual(table(database).locateAddress('198.19.1.1'), { location: null, scope: 16 });
  });

  it('the reader is kept across applies while the file is the same, and read anew when it changes', async () => {
    const file = await databaseFile('reload.mmdb', writeMmdb(NETWORKS, { ipVersion: 6 }));
    const first = openGeoIpDatabase(file);
    assert.equal(openGeoIpDatabase(file), first);
    assert.equal(first.size, writeMmdb(NETWORKS, { ipVersion: 6 }).length);
    // geoipupdate writes beside and renames into place: a new inode, whatever the mtime says.
    const next = `${file}.tmp`;
    await writeFile(next, writeMmdb([{ cidr: '198.19.0.0/16', data: cityRecord({ country: 'FR' }) }], { ipVersion: 6 }));
    await rename(next, file);
    const second = openGeoIpDatabase(file);
    assert.notEqual(second, first);
    assert.equal(second.lookup(4, bytesOf('198.19.1.1'))?.place?.country, 'FR');
    assert.equal(first.lookup(4, bytesOf('198.19.1.1'))?.place?.country, 'BE'); // the old config's engine keeps its own
    await writeFile(file, 'broken since the config was loaded');
    assert.throws(() => openGeoIpDatabase(file), new RegExp(`gslb\\.geoipDatabase: ${escape(file)} is not a usable MaxMind DB file`));
    await rm(file);
    assert.throws(() => openGeoIpDatabase(file), new RegExp(`cannot read the GeoIP database ${escape(file)}: no such file`));
  });

  it('locationTableOf: the config\'s database behind its locations', async () => {
    const file = await databaseFile('config.mmdb', writeMmdb(NETWORKS, { ipVersion: 6 }));
    const loaded = loadConfigText(gslbYaml(5353, file), 'geoip.yaml');
    assert.ok(loaded.ok && loaded.config.gslb !== undefined);
    const t = locationTableOf(loaded.config.gslb);
    assert.deepEqual(byAddress(t, '198.19.1.1'), { country: 'BE', continent: 'EU', scope: 16 });
    assert.deepEqual(byAddress(t, '10.1.0.1'), { country: 'US', continent: 'NA', scope: 16 }); // the locations entry
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The ntrip FQDN (selection: location) with an NL site, locations entries, and the GeoIP database. */
function gslbYaml(dnsPort: number, database: string): string {
  return [
    'workers: 1',
    'accessLog: off',
    'gslb:',
    `  listen: [127.0.0.1:${dnsPort}]`,
    '  zones:',
    '    - name: surveyor.lab',
    '      nameServers: [ns1.surveyor.lab]',
    '      hostmaster: hostmaster@surveyor.lab',
    '      records: [{ name: ns1, type: A, value: 192.0.2.53 }]',
    '  fqdns:',
    '    - name: ntrip.surveyor.lab',
    '      ttl: 10',
    '      selection: location',
    '      sites:',
    '        - { name: be, address: 192.0.2.11, location: { country: BE } }',
    '        - { name: us, address: 203.0.113.11, location: { continent: NA } }',
    '        - { name: nl, address: 198.51.100.11, location: { country: NL } }',
    '  locations:',
    '    - { cidr: 10.1.0.0/16, country: US, continent: NA }',
    '    - { cidr: 198.18.5.0/24, country: BE }',
    `  geoipDatabase: ${database}`,
    '',
  ].join('\n');
}

/** One A query over UDP with an ECS option (dns-packet, independent of src/dns): the addresses and the scope. */
async function queryA(port: number, name: string, ecs: { ip: string; source: number }): Promise<{ addresses: string[]; scope: number | null }> {
  const socket = dgram.createSocket('udp4');
  try {
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const id = Math.floor(Math.random() * 0xffff);
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 'CLIENT_SUBNET', family: ecs.ip.includes(':') ? 2 : 1, sourcePrefixLength: ecs.source, scopePrefixLength: 0, ip: ecs.ip }] };
    socket.send(encode({ type: 'query', id, flags: 0x0100, questions: [{ type: 'A', class: 'IN', name }], additionals: [opt as never] }), port, '127.0.0.1');
    const timeout = AbortSignal.timeout(2000);
    for (;;) {
      const [message] = (await once(socket, 'message', { signal: timeout })) as [Buffer];
      const reply = decode(message);
      if (reply.id !== id) continue;
      const addresses = (reply.answers ?? []).filter((a): a is StringAnswer => a.type === 'A').map((a) => a.data);
      const optRecord = (reply.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
      const subnet = optRecord?.options.find((o) => o.code === 8) as { scopePrefixLength?: number } | undefined;
      return { addresses, scope: subnet?.scopePrefixLength ?? null };
    }
  } finally {
    socket.close();
  }
}

describe('GSLB GeoIP end to end: a real Fulcrum with geoipDatabase', () => {
  let fulcrum: Fulcrum;
  let dnsPort: number;
  let file: string;

  before(async () => {
    dnsPort = await freePort();
    file = await databaseFile('e2e.mmdb', writeMmdb(NETWORKS, { ipVersion: 6, recordSize: 28 }));
    fulcrum = await startFulcrum({ config: gslbYaml(dnsPort, file) });
  });
  after(async () => {
    await fulcrum?.stop();
  });

  it('answers an ECS query from a database network with that country\'s site, scoped to the network', async () => {
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.19.7.0', source: 24 }), { addresses: ['192.0.2.11'], scope: 16 });
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.18.200.0', source: 24 }), { addresses: ['198.51.100.11'], scope: 24 });
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '2001:db8:be:1::', source: 56 }), { addresses: ['192.0.2.11'], scope: 48 });
  });

  it('a locations entry wins over the database; the database network around it is narrowed', async () => {
    // 198.18.5.0/24 is BE in the config, inside the database's US 198.18.0.0/17.
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.18.5.0', source: 24 }), { addresses: ['192.0.2.11'], scope: 24 });
    // 198.18.9.0 shares 20 bits with it: US, for the /21 that leaves the BE entry out.
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.18.9.0', source: 24 }), { addresses: ['203.0.113.11'], scope: 21 });
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '10.1.2.0', source: 24 }), { addresses: ['203.0.113.11'], scope: 16 });
  });

  it('a corrupt database is refused at reload with the file named; the running answers stay', async () => {
    const bad = await databaseFile('corrupt.mmdb', 'this is no MaxMind DB');
    const from = fulcrum.logs.length;
    assert.equal(await fulcrum.reload(gslbYaml(dnsPort, bad)), 'reload failed');
    const line = await fulcrum.waitForLog((l) => l.msg === 'reload failed', { from });
    assert.match(JSON.stringify(line), new RegExp(`gslb\\.geoipDatabase.*${escape(bad)} is not a usable MaxMind DB file`));
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.19.7.0', source: 24 }), { addresses: ['192.0.2.11'], scope: 16 });
  });

  it('a database that turns bad after the load check is refused when the worker opens it, the file named', async () => {
    const buffer = writeMmdb(NETWORKS, { ipVersion: 6, recordSize: 28 });
    buffer[new Reader(buffer).metadata.searchTreeSize + 5] = 1; // the separator: the metadata check at load passes
    const bad = await databaseFile('separator-e2e.mmdb', buffer);
    const from = fulcrum.logs.length;
    assert.equal(await fulcrum.reload(gslbYaml(dnsPort, bad)), 'reload failed');
    const line = await fulcrum.waitForLog((l) => l.msg === 'reload failed', { from });
    assert.match(JSON.stringify(line), new RegExp(`${escape(bad)} is not a usable MaxMind DB file: the 16 zero bytes`));
    assert.deepEqual(await queryA(dnsPort, 'ntrip.surveyor.lab', { ip: '198.18.200.0', source: 24 }), { addresses: ['198.51.100.11'], scope: 24 });
  });

  it('fulcrum check reports a bad database at its line, naming the file', async () => {
    const bad = await databaseFile('check.mmdb', 'still no MaxMind DB');
    const config = await databaseFile('check.yaml', gslbYaml(dnsPort, bad));
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [fulcrumBin, 'check', '-c', config], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      });
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, new RegExp(`${escape(config)}:21:\\d+: gslb\\.geoipDatabase: ${escape(bad)} is not a usable MaxMind DB file: no MaxMind DB metadata`));
  });
});
