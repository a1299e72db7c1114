// `fulcrum nlb ip2mac` and `fulcrum nlb switch-config` as users run them (bin/fulcrum.js as a child
// process: output, --json, exit codes), and nlbCommand's usage errors in-process.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nlbCommand, USAGE } from '../../src/cli/nlb-command.ts';
import { fulcrum } from './stub-admin.ts';

let home: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'fulcrum-cli-nlb-'));
});
after(async () => {
  await rm(home, { recursive: true });
});

const run = (...args: string[]) => fulcrum(['nlb', ...args], { home });

describe('fulcrum nlb ip2mac', () => {
  it('prints every mode: the MAC as Windows, Cisco and colon notation write it, and the IGMP group', async () => {
    const result = await run('ip2mac', '192.168.1.100');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        'MODE       WINDOWS            CISCO           COLON              IGMP GROUP',
        'unicast    02-bf-c0-a8-01-64  02bf.c0a8.0164  02:bf:c0:a8:01:64  -',
        'multicast  03-bf-c0-a8-01-64  03bf.c0a8.0164  03:bf:c0:a8:01:64  -',
        'igmp       01-00-5e-7f-01-64  0100.5e7f.0164  01:00:5e:7f:01:64  239.255.1.100',
        '',
      ].join('\n'),
    );
    assert.equal(result.stderr, '');
  });

  it('--mode gives that mode only; --json a stable object, wherever --json stands', async () => {
    const result = await fulcrum(['--json', 'nlb', 'ip2mac', '172.31.3.232', '--mode', 'IgmpMulticast'], { home });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      vip: '172.31.3.232',
      modes: { igmp: { mac: { windows: '01-00-5e-7f-03-e8', cisco: '0100.5e7f.03e8', colon: '01:00:5e:7f:03:e8' }, group: '239.255.3.232' } },
    });
    const multicast = await run('ip2mac', '172.31.1.232', '--mode', 'multicast', '--json');
    assert.deepEqual(JSON.parse(multicast.stdout).modes, { multicast: { mac: { windows: '03-bf-ac-1f-01-e8', cisco: '03bf.ac1f.01e8', colon: '03:bf:ac:1f:01:e8' }, group: null } });
  });

  it('an IPv6 address is a usage error (exit 2) that says NLB clusters are IPv4', async () => {
    const result = await run('ip2mac', '2001:db8::1');
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^fulcrum: "2001:db8::1" is an IPv6 address, and NLB clusters are IPv4: give the cluster's IPv4 address, e\.g\. 192\.168\.1\.100\n/);
  });
});

describe('fulcrum nlb switch-config', () => {
  it('prints the snippet: the same text as the fixture for those arguments', async () => {
    const result = await run('switch-config', '172.31.1.232', '--mode', 'multicast', '--vendor', 'cisco', '--vlan', '10', '--ports', 'Gi1/0/1,Gi1/0/2');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, await readFile(new URL('../nlb/fixtures/switch/cisco-multicast.txt', import.meta.url), 'utf8'));
  });

  it('--json: {vip, mode, vendor, vlan, ports, group, mac, add, remove}, the commands without comments', async () => {
    const result = await run('switch-config', '172.31.3.232', '--mode', 'igmp', '--vendor', 'Dell', '--vlan', '10', '--ports', 'g1', '--ports', 'g2', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      vip: '172.31.3.232',
      mode: 'igmp',
      vendor: 'dell',
      vlan: 10,
      ports: ['g1', 'g2'],
      group: '239.255.3.232',
      mac: { windows: '01-00-5e-7f-03-e8', cisco: '0100.5e7f.03e8', colon: '01:00:5e:7f:03:e8', switch: '01:00:5e:7f:03:e8' },
      add: [
        'bridge multicast filtering',
        'ip igmp snooping',
        'interface vlan 10',
        'ip igmp snooping',
        'exit',
        'interface vlan 10',
        'bridge multicast address 01:00:5e:7f:03:e8 add ethernet g1,g2',
        'exit',
      ],
      remove: ['interface vlan 10', 'no bridge multicast address 01:00:5e:7f:03:e8', 'exit'],
    });
  });

  it('usage errors exit 2 and say what is expected', async () => {
    const cases: [string[], RegExp][] = [
      [['--vendor', 'cisko', '--mode', 'multicast', '--vlan', '10', '--ports', 'Gi1/0/1'], /--vendor "cisko" is not one of cisco, dell \(PowerConnect 5424\/5448\) or hp \(ProCurve, ArubaOS-Switch\) \(did you mean cisco\?\)/],
      [['--vendor', 'cisco', '--mode', 'multicast'], /nlb switch-config needs --vlan, --ports: fulcrum nlb switch-config VIP --mode/],
      [['--vendor', 'hp', '--mode', 'igmp', '--vlan', '4095', '--ports', '1'], /--vlan "4095" is not a VLAN ID: give a number from 1 to 4094/],
      [['--vendor', 'hp', '--mode', 'igmp', '--vlan', '10', '--ports', '1,1'], /--ports: "1" is given twice/],
    ];
    for (const [options, message] of cases) {
      const result = await run('switch-config', '172.31.1.232', ...options);
      assert.equal(result.code, 2, options.join(' '));
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
    }
  });
});

describe('fulcrum nlb', () => {
  it('help prints the nlb usage', async () => {
    const result = await run('help');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, USAGE);
  });

  it('returns usage errors, with a guess where one is close', async () => {
    const cases: [string[], string | RegExp][] = [
      [[], 'nlb needs a subcommand: ip2mac, switch-config or import (fulcrum nlb help tells more)'],
      [['swich-config'], 'unknown nlb subcommand "swich-config" (did you mean switch-config?); use ip2mac, switch-config or import'],
      [['--mode'], 'unknown nlb subcommand "--mode"; use ip2mac, switch-config or import'],
      [['ip2mac'], 'the cluster IP is missing: fulcrum nlb ip2mac VIP [--mode unicast|multicast|igmp]'],
      [['ip2mac', '10.0.0.1', '10.0.0.2'], 'unexpected argument "10.0.0.2": fulcrum nlb ip2mac VIP [--mode unicast|multicast|igmp]'],
      [['ip2mac', '10.0.0.1', '--mode', 'multicst'], '--mode "multicst" is not an NLB mode: use unicast, multicast or igmp (did you mean multicast?)'],
      [['ip2mac', '10.0.0.1', '--vendor', 'cisco'], /Unknown option '--vendor'/],
      [['switch-config', '--mode', 'igmp'], /^the cluster IP is missing: fulcrum nlb switch-config VIP --mode/],
      [['switch-config', '10.0.0.1', '--mode', 'igmp', '--vendor', 'hp', '--vlan', '10', '--ports', 'A1-A4'], /"A1-A4" is not a port name .* list ports one by one/],
    ];
    for (const [args, expected] of cases) {
      const result = await nlbCommand(args, {});
      assert.ok(typeof result === 'object', args.join(' '));
      if (typeof expected === 'string') assert.equal(result.usage, expected);
      else assert.match(result.usage, expected);
    }
  });
});
