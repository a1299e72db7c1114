// The readers of `fulcrum nlb import`: PowerShell's table, list and JSON forms, the encodings a
// file from Windows arrives in, and which cmdlet each object came from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classifyRecords } from '../../src/nlb/import/classify.ts';
import { decodeText } from '../../src/nlb/import/decode.ts';
import { readPowerShellOutput } from '../../src/nlb/import/powershell-output.ts';
import { NlbImportCode } from '../../src/nlb/import/problems.ts';
import type { RawRecord } from '../../src/nlb/import/raw-record.ts';
import { MAX_VALUE_DEPTH, textOf } from '../../src/nlb/import/values.ts';

const FIXTURES = new URL('./fixtures/powershell/', import.meta.url);

function fixtureText(name: string): string {
  return decodeText(readFileSync(new URL(name, FIXTURES)));
}

function records(name: string): RawRecord[] {
  const output = readPowerShellOutput(fixtureText(name), name);
  assert.deepEqual(output.problems, []);
  return output.records;
}

function fields(record: RawRecord | undefined): Record<string, unknown> {
  return Object.fromEntries((record?.fields ?? []).map((field) => [field.name, field.value]));
}

/** UTF-16 LE with a BOM and CRLF line ends: what Windows PowerShell 5.1's `>` writes. */
function asPowerShell51Redirect(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le')]);
}

describe('nlb import: the default table form', () => {
  it('reads Get-NlbCluster, with the line each row is on', () => {
    const [cluster] = records('webfarm-cluster.table.txt');
    assert.deepEqual(fields(cluster), { Name: 'webfarm', IPAddress: '10.0.0.100', SubnetMask: '255.255.255.0', Mode: 'UNICAST' });
    assert.equal(cluster?.form, 'table');
    assert.deepEqual(cluster?.source, { file: 'webfarm-cluster.table.txt', line: 4 });
  });

  it('cuts cells by position: an empty Affinity stays empty, "Ethernet 2" stays whole', () => {
    const rules = records('webfarm-portrules.table.txt');
    assert.equal(rules.length, 7);
    assert.deepEqual(fields(rules[2]), { IPAddress: 'All', State: 'Enabled', Start: '3389', End: '3389', Protocol: 'Tcp', Mode: 'Single', Affinity: '', Timeout: '0' });
    const nodes = records('webfarm-nodes.table.txt');
    assert.deepEqual(fields(nodes[0]), { Name: 'web1', State: 'Converged(default)', Interface: 'Ethernet 2', HostID: '1' });
  });

  it("reads Microsoft's Get-NlbClusterNodeDip example, whose rows sit one column right of the header", () => {
    const dips = records('microsoft-docs-examples.txt').filter((record) => fields(record).Node !== undefined);
    assert.deepEqual(dips.map(fields), [
      { Node: 'Node01', IPAddress: '3.53.4.1', SubnetMask: '255.0.0.0' },
      { Node: 'Node01', IPAddress: 'fe80::a9cb:eafb:e841:d8cf', SubnetMask: '' },
      { Node: 'Node02', IPAddress: '3.53.4.2', SubnetMask: '255.0.0.0' },
    ]);
  });

  it('keeps a right-aligned value wider than its label in its own column', () => {
    const text = ['Name  Count Path', '----  ----- ----', 'a    123456 C:\\x y', 'bb        7 D:\\z'].join('\n');
    const output = readPowerShellOutput(text, 't.txt');
    assert.deepEqual(output.records.map(fields), [
      { Name: 'a', Count: '123456', Path: 'C:\\x y' },
      { Name: 'bb', Count: '7', Path: 'D:\\z' },
    ]);
  });
});

describe('nlb import: the Format-List form', () => {
  it('reads one object per block, empty values as empty', () => {
    const rules = records('microsoft-docs-portrules-per-node.list.txt');
    assert.equal(rules.length, 2);
    assert.deepEqual(fields(rules[1]), {
      Cluster: 'mycluster',
      NodeName: 'node2',
      VirtualIPAddress: '255.255.255.255',
      StartPort: '0',
      EndPort: '65535',
      Affinity: '',
      FilteringMode: 'Single',
      Protocol: 'Both',
      EqualLoad: 'False',
      LoadWeight: '',
      PortState: 'Enabled',
      Priority: '2',
      Timeout: '',
    });
    assert.equal(rules[1]?.source.line, 16);
  });

  it('joins a value PowerShell wrapped onto the next lines', () => {
    const text = ['Name        : web1', 'Description : a long value that the console', '              wrapped here', 'State       : Converged'].join('\n');
    const [record] = readPowerShellOutput(text, 'n.txt').records;
    assert.equal(fields(record).Description, 'a long value that the consolewrapped here');
    assert.equal(fields(record).State, 'Converged');
  });
});

describe('nlb import: the ConvertTo-Json form', () => {
  it('reads an array of objects, and a single object', () => {
    const rules = records('webfarm-portrules.json');
    assert.equal(rules.length, 18);
    assert.equal(rules[0]?.form, 'json');
    assert.deepEqual((fields(rules[0]).VirtualIPAddress as { IPAddressToString: string }).IPAddressToString, '255.255.255.255');
    assert.equal(rules[1]?.source.line, 28);
    const clusters = records('webfarm-cluster.json');
    assert.equal(clusters.length, 1);
    assert.equal(fields(clusters[0]).Name, 'webfarm');
  });

  it("takes off Windows PowerShell's { value, Count } wrapper and reads documents one after another", () => {
    const text = ['{ "value": [ { "Node": "web1", "IPAddress": "10.0.0.11" } ], "Count": 1 }', '[', '  { "Node": "web2", "IPAddress": "10.0.0.12" }', ']'].join('\n');
    const output = readPowerShellOutput(text, 'd.json');
    assert.deepEqual(output.records.map(fields), [{ Node: 'web1', IPAddress: '10.0.0.11' }, { Node: 'web2', IPAddress: '10.0.0.12' }]);
    assert.equal(output.records[1]?.source.line, 3);
  });

  it('reports JSON that does not parse, with its line', () => {
    const output = readPowerShellOutput('Name : x\n\n[\n  { "Node": "web1", }\n]\n', 'bad.json');
    assert.equal(output.problems.length, 1);
    assert.equal(output.problems[0]?.code, NlbImportCode.FORMAT);
    assert.match(output.problems[0]?.message ?? '', /^bad\.json:3: not valid JSON/);
  });
});

describe('nlb import: values nested too deep', () => {
  it('a JSON document 5,000 levels deep is a FORMAT problem, and textOf stops at MAX_VALUE_DEPTH instead of overflowing', () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const output = readPowerShellOutput(deep, 'deep.json');
    assert.deepEqual(output.records, []);
    assert.equal(output.problems[0]?.code, NlbImportCode.FORMAT);
    assert.match(output.problems[0]?.message ?? '', /^deep\.json:1: this JSON nests 5000 levels deep, more than the 64 read here/);
    const nested = JSON.parse(`${'['.repeat(5000)}"x"${']'.repeat(5000)}`) as unknown;
    assert.equal(textOf(nested), undefined);
    const object = JSON.parse(deep) as unknown;
    assert.equal(textOf(object), undefined);
    const shallow = JSON.parse(`${'['.repeat(MAX_VALUE_DEPTH)}"x"${']'.repeat(MAX_VALUE_DEPTH)}`) as unknown;
    assert.equal(textOf(shallow), 'x');
  });
});

describe('nlb import: files from Windows', () => {
  it("decodes UTF-16 LE with a BOM and CRLF (Windows PowerShell 5.1's >), UTF-8 with a BOM, and UTF-16 without one", () => {
    const text = fixtureText('webfarm-all-four.transcript.txt');
    assert.equal(decodeText(asPowerShell51Redirect(text)), text);
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text.replace(/\n/g, '\r\n'))])), text);
    assert.equal(decodeText(Buffer.from(text, 'utf16le')), text);
    const bigEndian = Buffer.from(text, 'utf16le').swap16();
    assert.equal(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), bigEndian])), text);
  });

  it('reads all four outputs from one console transcript, prompts and trailing spaces included', () => {
    const output = readPowerShellOutput(fixtureText('webfarm-all-four.transcript.txt'), 'all.txt');
    assert.deepEqual(output.ignored, []);
    const classified = classifyRecords(output.records);
    assert.equal(classified.export.clusters.length, 1);
    assert.equal(classified.export.nodes.length, 3);
    assert.equal(classified.export.dips.length, 4);
    assert.equal(classified.export.portRules.length, 7);
  });
});

describe('nlb import: which cmdlet printed an object', () => {
  for (const form of ['table', 'list', 'json'] as const) {
    it(`tells the four cmdlets apart in the ${form} form`, () => {
      const ext = form === 'json' ? 'json' : `${form}.txt`;
      const all = ['cluster', 'nodes', 'dips', 'portrules'].flatMap((kind) => records(`webfarm-${kind}.${ext}`));
      const { export: exported, problems, unrecognized } = classifyRecords(all);
      assert.deepEqual(problems, []);
      assert.deepEqual(unrecognized, []);
      assert.deepEqual(
        exported.clusters.map((cluster) => [cluster.name, cluster.ipAddress, cluster.subnetMask, cluster.mode]),
        [['webfarm', '10.0.0.100', '255.255.255.0', 'UNICAST']],
      );
      assert.deepEqual(
        exported.nodes.map((node) => [node.name, node.hostPriority, node.state]),
        [['web1', 1, 'Converged'], ['web2', 2, 'Converged'], ['web3', 3, 'Converged']],
      );
      assert.deepEqual(exported.dips.map((dip) => [dip.node, dip.ipAddress]), [
        ['web1', '10.0.0.11'],
        ['web1', 'fe80::a9cb:eafb:e841:d8cf'],
        ['web2', '10.0.0.12'],
        ['web3', '10.0.0.13'],
      ]);
      const rule = exported.portRules.find((candidate) => candidate.startPort === 3389);
      assert.equal(rule?.mode, 'single');
      assert.equal(rule?.vip, 'all');
      assert.equal(rule?.protocol, 'tcp');
    });
  }

  it("reads Microsoft's Get-NlbClusterNode examples, the table (HostID) and Format-List * (HostPriority)", () => {
    const { export: exported, problems } = classifyRecords(records('microsoft-docs-nodes.txt'));
    assert.deepEqual(problems, []);
    assert.deepEqual(
      exported.nodes.map((node) => [node.name, node.hostPriority, node.state, node.interfaceName]),
      [['node1', 1, 'Converged', 'vlan-3'], ['node2', 2, 'Converged', 'vlan-3'], ['Node01', 2, 'Converged', 'vlan-3']],
    );
    assert.deepEqual(exported.nodes[2]?.extra.map((field) => field.name), ['AdapterGuid', 'InitialHostState', 'PersistSuspendOnReboot', 'MaskSourceMac', 'FilterIcmp', 'GreDescriptorTimeout']);
    assert.deepEqual(exported.clusterNames, ['mycluster']);
  });

  it('merges the per-node objects of one rule into one rule with each node\'s weight and priority', () => {
    const { export: exported } = classifyRecords(records('webfarm-portrules.list.txt'));
    assert.equal(exported.portRules.length, 6);
    const web = exported.portRules[0];
    assert.deepEqual([...(web?.nodes.values() ?? [])].map((node) => [node.node, node.equalLoad, node.loadWeight]), [
      ['web1', false, 60],
      ['web2', false, 40],
      ['web3', false, 0],
    ]);
    const rdp = exported.portRules.find((rule) => rule.startPort === 3389);
    assert.deepEqual([...(rdp?.nodes.values() ?? [])].map((node) => [node.node, node.priority]), [
      ['web1', 2],
      ['web2', 1],
      ['web3', 3],
    ]);
    assert.equal(exported.portRules.find((rule) => rule.vip === '10.0.0.101' && rule.startPort === 21)?.affinity, 'single');
  });

  it('refuses enumerations written as numbers (Windows PowerShell 5.1 ConvertTo-Json), naming the exports that work', () => {
    const { problems, export: exported } = classifyRecords(records('webfarm-portrules.ps51.json'));
    assert.equal(problems.length, 1, 'one message for the whole file');
    assert.equal(exported.portRules.length, 0);
    assert.equal(problems[0]?.code, NlbImportCode.VALUE);
    assert.match(problems[0]?.message ?? '', /^webfarm-portrules\.ps51\.json:2: Protocol is the number 0: .*ConvertTo-Json -EnumsAsStrings.*Format-List -Property \*/);
  });

  it('completes an address the table cut short only when Get-NlbClusterVip lists every cluster address', () => {
    const rules = ['IPAddress State     Start     End       Protocol  Mode      Affinity  Timeout', '--------- -----     -----     ---       --------  ----      --------  -------', '10.0.0... Enabled   21        21        Tcp       Multiple  Single    0'].join('\n');
    const vips = ['IPAddress                               SubnetMask', '---------                               ----------', '10.0.0.100                              255.255.255.0', '10.1.0.7                                255.255.255.0'].join('\n');
    const alone = classifyRecords(readPowerShellOutput(rules, 'r.txt').records);
    assert.equal(alone.export.portRules.length, 0);
    assert.match(alone.problems[0]?.message ?? '', /^r\.txt:3: the table cut the IP address to "10\.0\.0\.\.\.", and without the output of Get-NlbClusterVip .* Format-List -Property \*/);
    const withVips = classifyRecords([...readPowerShellOutput(vips, 'v.txt').records, ...readPowerShellOutput(rules, 'r.txt').records]);
    assert.deepEqual(withVips.problems, []);
    assert.equal(withVips.export.portRules[0]?.vip, '10.0.0.100');
    assert.match(withVips.warnings[0] ?? '', /taken as 10\.0\.0\.100/);
  });
});
