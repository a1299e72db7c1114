// Windows NLB's cluster MAC for each mode against known vectors (the issue's, Microsoft's
// 02-BF/03-BF rule, and one computed by hand in a public how-to), and the IGMP MAC against the
// RFC 1112 mapping of its group computed independently here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterMac, igmpGroup, macForms, NLB_MODES, parseClusterIp, parseNlbMode, type Ipv4Bytes } from '../../src/nlb/cluster-mac.ts';

function ip(text: string): Ipv4Bytes {
  const parsed = parseClusterIp(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.message}`);
  return parsed.value;
}

describe('cluster MAC', () => {
  it('unicast: 02-bf and the four address bytes', () => {
    assert.deepEqual(macForms(clusterMac(ip('192.168.1.100'), 'unicast')), { windows: '02-bf-c0-a8-01-64', cisco: '02bf.c0a8.0164', colon: '02:bf:c0:a8:01:64' });
    assert.deepEqual(macForms(clusterMac(ip('10.0.0.100'), 'unicast')), { windows: '02-bf-0a-00-00-64', cisco: '02bf.0a00.0064', colon: '02:bf:0a:00:00:64' });
  });

  it('multicast: 03-bf and the four address bytes', () => {
    assert.deepEqual(macForms(clusterMac(ip('172.31.1.232'), 'multicast')), { windows: '03-bf-ac-1f-01-e8', cisco: '03bf.ac1f.01e8', colon: '03:bf:ac:1f:01:e8' });
    // tech-wiki.net's worked example: 199.99.20.70 -> 03-bf-c7-63-14-46.
    assert.equal(macForms(clusterMac(ip('199.99.20.70'), 'multicast')).windows, '03-bf-c7-63-14-46');
  });

  it('IGMP multicast: group 239.255.y.z and MAC 01-00-5e-7f-y-z', () => {
    const cluster = ip('172.31.3.232');
    assert.equal(igmpGroup(cluster), '239.255.3.232');
    assert.deepEqual(macForms(clusterMac(cluster, 'igmp')), { windows: '01-00-5e-7f-03-e8', cisco: '0100.5e7f.03e8', colon: '01:00:5e:7f:03:e8' });
  });

  it("the IGMP MAC is the IPv4 multicast MAC of the group (01-00-5e and the group's low 23 bits)", () => {
    for (const text of ['172.31.3.232', '10.0.0.1', '192.168.255.0', '1.2.128.255']) {
      const group = igmpGroup(ip(text)).split('.').map(Number);
      const low23 = ((group[1]! & 0x7f) << 16) | (group[2]! << 8) | group[3]!;
      const expected = `01005e${low23.toString(16).padStart(6, '0')}`;
      assert.equal(macForms(clusterMac(ip(text), 'igmp')).colon.replaceAll(':', ''), expected, text);
    }
  });

  it('a byte below 16 keeps its leading zero in every form', () => {
    assert.deepEqual(macForms(clusterMac(ip('1.2.3.4'), 'multicast')), { windows: '03-bf-01-02-03-04', cisco: '03bf.0102.0304', colon: '03:bf:01:02:03:04' });
  });
});

describe('parseClusterIp', () => {
  it('takes dotted IPv4', () => {
    assert.deepEqual(parseClusterIp('172.31.1.232'), { ok: true, value: [172, 31, 1, 232] });
  });

  it('refuses IPv6, saying NLB clusters are IPv4', () => {
    for (const text of ['2001:db8::1', '::ffff:10.0.0.1', 'fe80::1%eth0']) {
      const parsed = parseClusterIp(text);
      assert.equal(parsed.ok, false, text);
      assert.match(parsed.ok ? '' : parsed.message, /is an IPv6 address, and NLB clusters are IPv4: give the cluster's IPv4 address/);
    }
  });

  it('refuses what is not an IPv4 address, saying what is expected', () => {
    for (const text of ['', '10.0.0', '10.0.0.256', '010.0.0.1', ' 10.0.0.1', '10.0.0.1%eth0', 'nlb.example.com', '10.0.0.1/24']) {
      const parsed = parseClusterIp(text);
      assert.equal(parsed.ok, false, JSON.stringify(text));
      assert.match(parsed.ok ? '' : parsed.message, /is not an IPv4 address: give the cluster IP \(NLB clusters are IPv4\) as four numbers from 0 to 255/);
    }
  });

  it('refuses addresses no cluster can have', () => {
    const cases: [string, RegExp][] = [
      ['0.0.0.0', /"this network"/],
      ['127.0.0.1', /loopback/],
      ['224.0.0.1', /multicast/],
      ['239.255.3.232', /multicast/],
      ['255.255.255.255', /reserved/],
    ];
    for (const [text, kind] of cases) {
      const parsed = parseClusterIp(text);
      assert.equal(parsed.ok, false, text);
      assert.match(parsed.ok ? '' : parsed.message, kind);
    }
  });
});

describe('parseNlbMode', () => {
  it('takes the three modes in any case, and the names PowerShell and NLB Manager use', () => {
    assert.deepEqual(NLB_MODES, ['unicast', 'multicast', 'igmp']);
    const cases: [string, string][] = [
      ['unicast', 'unicast'],
      ['Unicast', 'unicast'],
      ['MULTICAST', 'multicast'],
      ['igmp', 'igmp'],
      ['IgmpMulticast', 'igmp'],
      ['IGMP multicast', 'igmp'],
      ['igmp-multicast', 'igmp'],
    ];
    for (const [text, mode] of cases) assert.equal(parseNlbMode(text), mode, text);
  });

  it('knows no other mode', () => {
    for (const text of ['', 'broadcast', 'uni', 'igmp2']) assert.equal(parseNlbMode(text), undefined, text);
  });
});
