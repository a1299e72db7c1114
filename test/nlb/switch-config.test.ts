// The switch snippets for each vendor and mode against fixtures (test/nlb/fixtures/switch/
// VENDOR-MODE.txt, compared exactly), and the rules every snippet keeps: commands are the only
// lines without the comment mark, what is added is removed, input that could smuggle a command
// into the snippet is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NLB_MODES, parseClusterIp, type Ipv4Bytes, type NlbMode } from '../../src/nlb/cluster-mac.ts';
import { commandsOf, parsePorts, parseVendor, parseVlan, renderSnippet, SWITCH_VENDORS, switchSnippet, type SwitchVendor } from '../../src/nlb/switch-config.ts';

function ip(text: string): Ipv4Bytes {
  const parsed = parseClusterIp(text);
  assert.ok(parsed.ok);
  return parsed.value;
}

/** The fixtures' inputs: the issue's addresses, VLAN 10, two node ports (one uplink for unicast). */
const NODE_PORTS: Record<SwitchVendor, string[]> = { cisco: ['Gi1/0/1', 'Gi1/0/2'], dell: ['g1', 'g2'], hp: ['1', '2'] };
const UPLINK: Record<SwitchVendor, string> = { cisco: 'Gi1/0/48', dell: 'g24', hp: '24' };

function fixtureRequest(vendor: SwitchVendor, mode: NlbMode) {
  return {
    ip: ip(mode === 'igmp' ? '172.31.3.232' : '172.31.1.232'),
    mode,
    vendor,
    vlan: 10,
    ports: mode === 'unicast' ? [UPLINK[vendor]] : NODE_PORTS[vendor],
  };
}

function fixture(vendor: SwitchVendor, mode: NlbMode): string {
  return readFileSync(new URL(`fixtures/switch/${vendor}-${mode}.txt`, import.meta.url), 'utf8');
}

describe('switch snippets against fixtures', () => {
  for (const vendor of SWITCH_VENDORS) {
    for (const mode of NLB_MODES) {
      it(`${vendor} ${mode}`, () => {
        assert.equal(renderSnippet(switchSnippet(fixtureRequest(vendor, mode))), fixture(vendor, mode));
      });
    }
  }
});

describe('what every snippet keeps to', () => {
  const requests = SWITCH_VENDORS.flatMap((vendor) =>
    NLB_MODES.flatMap((mode) => [fixtureRequest(vendor, mode), { ...fixtureRequest(vendor, mode), ports: NODE_PORTS[vendor] }]),
  );

  it('the lines without the comment mark are the commands, the added ones then the removing ones', () => {
    for (const request of requests) {
      const snippet = switchSnippet(request);
      const text = renderSnippet(snippet);
      assert.equal(snippet.commentMark, request.vendor === 'hp' ? ';' : '!');
      const commands = text.split('\n').filter((line) => line !== '' && !line.startsWith(snippet.commentMark));
      assert.deepEqual(commands, [...commandsOf(snippet.add), ...commandsOf(snippet.remove)], `${request.vendor} ${request.mode}`);
      for (const line of commands) assert.doesNotMatch(line, /^[!;]/);
      assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
    }
  });

  it('says where removal starts, after the added lines', () => {
    for (const request of requests) {
      const snippet = switchSnippet(request);
      const lines = renderSnippet(snippet).split('\n');
      const heading = lines.findIndex((line) => line === `${snippet.commentMark} After the migration (the cluster IP answers on Fulcrum and NLB is gone from the nodes), remove:`);
      assert.ok(heading > 0, `${request.vendor} ${request.mode}`);
      const commandsBefore = lines.slice(0, heading).filter((line) => !line.startsWith(snippet.commentMark));
      assert.deepEqual(commandsBefore, commandsOf(snippet.add), `${request.vendor} ${request.mode}`);
    }
  });
});

describe('Cisco IOS', () => {
  it("multicast: the static ARP and MAC-table lines the issue quotes, in current IOS's spelling, and their removal", () => {
    const snippet = switchSnippet({ ip: ip('172.31.1.232'), mode: 'multicast', vendor: 'cisco', vlan: 10, ports: ['Gi1/0/1'] });
    assert.deepEqual(commandsOf(snippet.add), ['arp 172.31.1.232 03bf.ac1f.01e8 ARPA', 'mac address-table static 03bf.ac1f.01e8 vlan 10 interface Gi1/0/1']);
    assert.deepEqual(commandsOf(snippet.remove), ['no mac address-table static 03bf.ac1f.01e8 vlan 10', 'no arp 172.31.1.232 03bf.ac1f.01e8 ARPA']);
    assert.match(renderSnippet(snippet), /older IOS releases .* spell it "mac-address-table static"/s);
  });

  it('igmp: snooping, querier and a static membership per node port, each removed but snooping and the querier', () => {
    const snippet = switchSnippet({ ip: ip('172.31.3.232'), mode: 'igmp', vendor: 'cisco', vlan: 20, ports: ['Gi1/0/1', 'Te1/1/1', 'Po3'] });
    const statics = ['Gi1/0/1', 'Te1/1/1', 'Po3'].map((port) => `ip igmp snooping vlan 20 static 239.255.3.232 interface ${port}`);
    assert.deepEqual(commandsOf(snippet.add), ['arp 172.31.3.232 0100.5e7f.03e8 ARPA', 'ip igmp snooping', 'ip igmp snooping vlan 20', 'ip igmp snooping querier', ...statics]);
    assert.deepEqual(commandsOf(snippet.remove), [...statics.map((line) => `no ${line}`), 'no arp 172.31.3.232 0100.5e7f.03e8 ARPA']);
    assert.match(renderSnippet(snippet), /! IGMP snooping and its querier stay on; .*: no ip igmp snooping querier/);
  });
});

describe('Dell PowerConnect 5424/5448', () => {
  it('multicast: the cluster MAC as a static group of the VLAN, port-channels apart from ethernet ports', () => {
    const snippet = switchSnippet({ ip: ip('172.31.1.232'), mode: 'multicast', vendor: 'dell', vlan: 10, ports: ['g1', 'ch2', 'g3', 'ch4'] });
    assert.deepEqual(commandsOf(snippet.add), [
      'bridge multicast filtering',
      'interface vlan 10',
      'bridge multicast address 03:bf:ac:1f:01:e8 add ethernet g1,g3',
      'bridge multicast address 03:bf:ac:1f:01:e8 add port-channel 2,4',
      'exit',
    ]);
    assert.deepEqual(commandsOf(snippet.remove), ['interface vlan 10', 'no bridge multicast address 03:bf:ac:1f:01:e8', 'exit']);
  });

  it('the static ARP entry is a comment for the router: the 54xx routes nothing', () => {
    const text = renderSnippet(switchSnippet(fixtureRequest('dell', 'multicast')));
    assert.match(text, /^! On a Cisco IOS router: arp 172\.31\.1\.232 03bf\.ac1f\.01e8 ARPA$/m);
    assert.doesNotMatch(text, /^arp /m);
  });
});

describe('HP ProCurve / ArubaOS-Switch', () => {
  it("writes the MAC as ProCurve does, and enables IGMP and the querier on the VLAN for igmp mode", () => {
    const snippet = switchSnippet(fixtureRequest('hp', 'igmp'));
    assert.equal(snippet.switchMac, '01005e-7f03e8');
    assert.deepEqual(commandsOf(snippet.add), ['vlan 10', 'ip igmp', 'ip igmp querier', 'exit']);
    assert.deepEqual(commandsOf(snippet.remove), []);
  });

  it('multicast: the drop filter needs the ports that do not lead to nodes, so it is a template to complete', () => {
    const snippet = switchSnippet(fixtureRequest('hp', 'multicast'));
    assert.deepEqual(commandsOf(snippet.add), []);
    assert.match(renderSnippet(snippet), /^; {3}filter multicast 03bfac-1f01e8 drop PORTS$/m);
    assert.deepEqual(commandsOf(snippet.remove), ['no filter multicast 03bfac-1f01e8']);
  });
});

describe('unicast mode', () => {
  it('adds nothing when the nodes sit behind several ports: the switch must flood to reach them', () => {
    for (const vendor of SWITCH_VENDORS) {
      const snippet = switchSnippet({ ...fixtureRequest(vendor, 'unicast'), ports: NODE_PORTS[vendor] });
      assert.deepEqual([...commandsOf(snippet.add), ...commandsOf(snippet.remove)], [], vendor);
      assert.match(renderSnippet(snippet), /sit behind 2 ports .* nothing to add here/s, vendor);
    }
  });

  it('pins the cluster MAC to the one port that leads to every node', () => {
    const cisco = switchSnippet(fixtureRequest('cisco', 'unicast'));
    assert.deepEqual(commandsOf(cisco.add), ['mac address-table static 02bf.ac1f.01e8 vlan 10 interface Gi1/0/48']);
    assert.deepEqual(commandsOf(cisco.remove), ['no mac address-table static 02bf.ac1f.01e8 vlan 10']);
    const dell = switchSnippet({ ...fixtureRequest('dell', 'unicast'), ports: ['ch1'] });
    assert.deepEqual(commandsOf(dell.add), ['interface vlan 10', 'bridge address 02:bf:ac:1f:01:e8 port-channel 1 permanent', 'exit']);
  });

  it('names the switches that take a unicast MAC on several ports', () => {
    assert.match(renderSnippet(switchSnippet(fixtureRequest('cisco', 'unicast'))), /HPE Comware\n! \(mac-address multiport\), D-Link DGS \(nlb unicast-fdb\)/);
  });
});

describe('parseVlan', () => {
  it('takes 1 to 4094', () => {
    assert.deepEqual(parseVlan('1'), { ok: true, value: 1 });
    assert.deepEqual(parseVlan('4094'), { ok: true, value: 4094 });
  });

  it('refuses the rest, saying the range', () => {
    for (const text of ['0', '4095', '10000', '-1', '1.5', 'ten', '', ' 10']) {
      assert.deepEqual(parseVlan(text), { ok: false, message: `--vlan "${text}" is not a VLAN ID: give a number from 1 to 4094` }, text);
    }
  });
});

describe('parsePorts', () => {
  it('takes comma lists, trimmed, from one or several --ports', () => {
    assert.deepEqual(parsePorts(['Gi1/0/1, Gi1/0/2']), { ok: true, value: ['Gi1/0/1', 'Gi1/0/2'] });
    assert.deepEqual(parsePorts(['GigabitEthernet1/0/1', 'Po1,Ethernet1/1.100']), { ok: true, value: ['GigabitEthernet1/0/1', 'Po1', 'Ethernet1/1.100'] });
  });

  it('refuses what is not a port name, so nothing can be smuggled into the snippet', () => {
    for (const port of ['Gi1/0/1\nreload', 'Gi1/0/1 ; reload', 'Gi 1/0/1', '/1', 'g1!', 'x'.repeat(65)]) {
      const parsed = parsePorts([port]);
      assert.equal(parsed.ok, false, JSON.stringify(port));
      assert.match(parsed.ok ? '' : parsed.message, /is not a port name \(letters, digits and \/ \. :/);
    }
  });

  it('asks for ranges one port at a time', () => {
    assert.deepEqual(parsePorts(['1-4']), { ok: false, message: '--ports: "1-4" is not a port name (letters, digits and / . :, e.g. Gi1/0/1, g1, A1); list ports one by one, since each vendor writes ranges its own way' });
  });

  it('refuses empty entries, no port and a port given twice', () => {
    assert.match((parsePorts(['g1,,g2']) as { message: string }).message, /has an empty entry/);
    assert.match((parsePorts(['']) as { message: string }).message, /has an empty entry/);
    assert.deepEqual(parsePorts([]), { ok: false, message: '--ports needs at least one port that leads to a node' });
    assert.deepEqual(parsePorts(['g1', 'g1']), { ok: false, message: '--ports: "g1" is given twice' });
  });
});

describe('parseVendor', () => {
  it('takes the vendors in any case, and nothing else', () => {
    assert.equal(parseVendor('Cisco'), 'cisco');
    assert.equal(parseVendor('DELL'), 'dell');
    assert.equal(parseVendor('hp'), 'hp');
    assert.equal(parseVendor('juniper'), undefined);
  });
});
