// `fulcrum nlb import`: Windows NLB's cmdlet output in, a Fulcrum config that passes `fulcrum check`
// out. Fixtures are in the shapes Microsoft documents (fixtures/powershell/README.md).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { importCommand } from '../../src/nlb/import/command.ts';
import { importNlb, type ImportOutcome, type InputFile } from '../../src/nlb/import/pipeline.ts';
import type { ConfigDraft, VirtualServiceDraft } from '../../src/nlb/import/plan.ts';
import { NlbImportCode } from '../../src/nlb/import/problems.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = new URL('./fixtures/powershell/', import.meta.url);

function fixture(name: string): InputFile {
  return { name, bytes: readFileSync(new URL(name, FIXTURES)) };
}

function fixturePath(name: string): string {
  return fileURLToPath(new URL(name, FIXTURES));
}

function inline(name: string, text: string): InputFile {
  return { name, bytes: Buffer.from(text) };
}

type Form = 'table' | 'list' | 'json';
function webfarm(form: Form, kinds: readonly string[] = ['cluster', 'nodes', 'dips', 'portrules']): InputFile[] {
  return kinds.map((kind) => fixture(`webfarm-${kind}.${form === 'json' ? 'json' : `${form}.txt`}`));
}

interface Options {
  addresses?: [string, string][];
  ports?: number[];
}

function run(files: readonly InputFile[], options: Options = {}): Promise<ImportOutcome> {
  return importNlb(files, { addresses: new Map(options.addresses ?? []), ports: options.ports === undefined ? undefined : new Set(options.ports) });
}

/** An import that succeeds, whose text loads as it is and says the same as its JSON form. */
async function imported(files: readonly InputFile[], options: Options = {}): Promise<{ text: string; config: ConfigDraft; loaded: Config; warnings: string[] }> {
  const outcome = await run(files, options);
  if (!outcome.ok) assert.fail(outcome.problems.map((found) => found.message).join('\n'));
  const loaded = loadConfigText(outcome.text, 'imported.yaml');
  if (!loaded.ok) assert.fail(JSON.stringify(loaded.problems, null, 2));
  assert.deepEqual(parse(outcome.text), outcome.config, 'the YAML and --json carry the same config');
  return { text: outcome.text, config: outcome.config, loaded: loaded.config, warnings: outcome.warnings };
}

async function refused(files: readonly InputFile[], options: Options = {}): Promise<{ code: string; message: string }[]> {
  const outcome = await run(files, options);
  if (outcome.ok) assert.fail(`expected the import to fail; it wrote:\n${outcome.text}`);
  return outcome.problems;
}

function service(config: ConfigDraft, name: string): VirtualServiceDraft {
  const found = config.virtualServices.find((vs) => vs.name === name);
  if (found === undefined) assert.fail(`no virtual service ${name} in ${config.virtualServices.map((vs) => vs.name).join(', ')}`);
  return found;
}

describe('nlb import: the webfarm cluster from the default table output', () => {
  it('writes one virtual service per rule, address, port and protocol; Both makes two, a range one per port, Disabled none', async () => {
    const { config } = await imported(webfarm('table'));
    assert.deepEqual(
      config.virtualServices.map((vs) => [vs.name, vs.listen, vs.protocol]),
      [
        ['webfarm-10.0.0.100-tcp-80', '10.0.0.100:80', 'tcp'],
        ['webfarm-10.0.0.100-tcp-443', '10.0.0.100:443', 'tcp'],
        ['webfarm-10.0.0.100-tcp-3389', '10.0.0.100:3389', 'tcp'],
        ['webfarm-10.0.0.100-udp-53', '10.0.0.100:53', 'udp'],
        ['webfarm-10.0.0.100-tcp-5060', '10.0.0.100:5060', 'tcp'],
        ['webfarm-10.0.0.100-udp-5060', '10.0.0.100:5060', 'udp'],
        ['webfarm-10.0.0.100-tcp-8000', '10.0.0.100:8000', 'tcp'],
        ['webfarm-10.0.0.100-tcp-8001', '10.0.0.100:8001', 'tcp'],
        ['webfarm-10.0.0.100-tcp-8002', '10.0.0.100:8002', 'tcp'],
        ['webfarm-10.0.0.100-tcp-8003', '10.0.0.100:8003', 'tcp'],
      ],
    );
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-8002').realServers, [{ address: '10.0.0.11:8002' }, { address: '10.0.0.12:8002' }, { address: '10.0.0.13:8002' }]);
  });

  it('warns that Single or Network affinity no longer spans the ports of a rule that became several services', async () => {
    const { text, warnings } = await imported(webfarm('table'));
    const affinity = warnings.filter((warning) => /keeps its own persistence table/.test(warning));
    // 8000-8003 Single becomes 4 services; 443 Single and 53 Network are one service each.
    assert.deepEqual(affinity, [
      'port rule All 8000-8003 Tcp: NLB affinity Single keeps a client on one node for every port of the rule; here it becomes 4 virtual services, and each Fulcrum virtual service keeps its own persistence table, so a client may reach different real servers on different ports',
    ]);
    assert.match(text, /^# {3}port rule All 8000-8003 Tcp: NLB affinity Single keeps a client on one node for every port of the rule;$/m);
    const both = [
      'IPAddress State     Start     End       Protocol  Mode      Affinity  Timeout',
      '--------- -----     -----     ---       --------  ----      --------  -------',
      'All       Enabled   5060      5060      Both      Multiple  Network   0',
    ].join('\n');
    const sip = await imported([fixture('webfarm-cluster.table.txt'), fixture('webfarm-dips.table.txt'), inline('sip.txt', both)]);
    assert.ok(sip.warnings.some((warning) => /^port rule All 5060 Both: NLB affinity Network .* becomes 2 virtual services/.test(warning)));
  });

  it('port 21 on TCP: a warning and a comment on the service pointing to protocol: ftp and its passive ports', async () => {
    const { text, warnings } = await imported(webfarm('list'));
    assert.ok(warnings.some((warning) => /^port rule 10\.0\.0\.101 21 Tcp: port 21 \(FTP\) is written as protocol tcp/.test(warning)));
    assert.match(text, /^ {2}# FTP: as protocol tcp, data connections break; change it to protocol: ftp with ftp: \{ mode: alg,$/m);
    assert.match(text, /# FTP: .*\n(?: {2}#.*\n)* {2}- name: webfarm-10\.0\.0\.101-tcp-21\n/);
  });

  it('warns that All rules cover only the addresses it knows when Get-NlbClusterVip output is missing', async () => {
    const { warnings, text } = await imported(webfarm('table'));
    const expected =
      'port rules All 80 Tcp; All 443 Tcp; All 3389 Tcp; All 53 Udp; All 5060 Both; All 8000-8003 Tcp apply to every cluster IP address, and without Get-NlbClusterVip output the import knows only 10.0.0.100 (the cluster IP and those named in specific rules); include the output of Get-NlbClusterVip to cover every cluster address';
    assert.ok(warnings.includes(expected));
    assert.match(text, /^# {3}port rules All 80 Tcp; .* apply to$/m);
    const vip = ['IPAddress        SubnetMask', '---------        ----------', '10.0.0.100       255.255.255.0'].join('\n');
    const withVips = await imported([...webfarm('table'), inline('vips.txt', vip)]);
    assert.ok(!withVips.warnings.some((warning) => /Get-NlbClusterVip/.test(warning)));
  });

  it('says in the file what it did not import, and why', async () => {
    const { text, warnings } = await imported(webfarm('table'));
    assert.match(text, /^# Not imported:\n# {3}All 135-139 Both: filtering mode Disabled \(NLB drops this traffic; nothing listens for it here\)$/m);
    assert.doesNotMatch(text, /:135\b|-135\b/);
    assert.match(text, /^# {3}cluster webfarm: Mode UNICAST, SubnetMask 255\.255\.255\.0$/m);
    assert.match(text, /^# {3}node web1: HostPriority 1, State Converged, InterfaceName Ethernet 2, dedicated addresses$/m);
    assert.match(text, /^# {3}port rule All 80 Tcp: Timeout 0, State Enabled$/m);
    assert.match(text, /^# {3}Timeout is NLB's extended affinity in minutes/m);
    // The table form shows neither weights nor handling priorities: the fallbacks are said aloud.
    assert.ok(warnings.some((warning) => /All 80 Tcp; All 443 Tcp; All 53 Udp; All 5060 Both; All 8000-8003 Tcp: the input has no per-node load weights/.test(warning)));
    assert.ok(warnings.some((warning) => /All 3389 Tcp: handling priorities taken from the nodes' host priorities/.test(warning)));
    assert.match(text, /^# Warnings:\n# {3}port rules All 80 Tcp; /m);
  });

  it('reads all four outputs from one transcript, and from the same file as Windows PowerShell 5.1 redirects it (UTF-16 LE, BOM, CRLF)', async () => {
    const separate = await imported(webfarm('table'));
    const transcript = fixture('webfarm-all-four.transcript.txt');
    const together = await imported([transcript]);
    assert.deepEqual(together.config, separate.config);
    const text = Buffer.from(transcript.bytes).toString('utf8').replace(/\n/g, '\r\n');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const redirected = await imported([{ name: 'nlb.txt', bytes: utf16 }]);
    assert.deepEqual(redirected.config, separate.config);
  });
});

describe('nlb import: affinity and filtering modes', () => {
  it('affinity None: no persistence; Single: source-ip; Network: source-ip with sourceMask 24', async () => {
    const { config, loaded } = await imported(webfarm('table'));
    assert.equal(service(config, 'webfarm-10.0.0.100-tcp-80').persistence, undefined);
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-443').persistence, { type: 'source-ip' });
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-udp-53').persistence, { type: 'source-ip', sourceMask: 24 });
    const pool = (name: string) => loaded.pools.find((candidate) => candidate.name === name);
    assert.equal(pool('webfarm-10.0.0.100-tcp-80')?.persistence, false);
    const network = pool('webfarm-10.0.0.100-udp-53')?.persistence;
    assert.equal(network === false ? undefined : network?.sourceMask, 24);
    const single = pool('webfarm-10.0.0.100-tcp-443')?.persistence;
    assert.equal(single === false ? undefined : single?.sourceMask, 32);
  });

  it('multiple hosts with equal load: round-robin and no weights', async () => {
    const { config } = await imported(webfarm('list'));
    const web = service(config, 'webfarm-10.0.0.100-tcp-443');
    assert.equal(web.scheduler, 'round-robin');
    assert.ok(web.realServers.every((server) => server.weight === undefined));
  });

  it('multiple hosts with load weights: weighted-round-robin with the weights, 0 included', async () => {
    const { config, text } = await imported(webfarm('list'));
    const web = service(config, 'webfarm-10.0.0.100-tcp-80');
    assert.equal(web.scheduler, 'weighted-round-robin');
    assert.deepEqual(web.realServers, [
      { address: '10.0.0.11:80', weight: 60 },
      { address: '10.0.0.12:80', weight: 40 },
      { address: '10.0.0.13:80', weight: 0 },
    ]);
    assert.match(text, /- \{ address: 10\.0\.0\.11:80, weight: 60 \} {2}# web1, NLB load weight 60\n/);
  });

  it('single host: fixed-weight, the lowest handling priority getting the highest weight (33 - priority), explained', async () => {
    const { config, text, loaded } = await imported(webfarm('list'));
    const rdp = service(config, 'webfarm-10.0.0.100-tcp-3389');
    assert.equal(rdp.scheduler, 'fixed-weight');
    assert.deepEqual(rdp.realServers, [
      { address: '10.0.0.11:3389', weight: 31 },
      { address: '10.0.0.12:3389', weight: 32 },
      { address: '10.0.0.13:3389', weight: 30 },
    ]);
    assert.equal(loaded.pools.find((pool) => pool.name === rdp.name)?.scheduler, 'fixed-weight');
    assert.match(text, /# NLB single-host filtering: all traffic goes to the node with the LOWEST handling priority \(priority 1 is/);
    assert.match(text, /web2 priority 1 -> weight 32, web1 priority 2 -> weight 31, web3 priority 3 -> weight 30\./);
  });

  it('single host from the table form: the host priorities stand in for the handling priorities', async () => {
    const { config } = await imported(webfarm('table'));
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-3389').realServers.map((server) => server.weight), [32, 31, 30]);
  });

  it("a node on which the rule is disabled is a disabled real server", async () => {
    const { config } = await imported(webfarm('list'));
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-443').realServers[2], { address: '10.0.0.13:443', state: 'disabled' });
  });

  it('an All rule applies to every cluster address except where an address has its own rule (here Disabled)', async () => {
    const { config, text } = await imported(webfarm('list'));
    const names = config.virtualServices.map((vs) => vs.name);
    assert.ok(names.includes('webfarm-10.0.0.101-tcp-443'));
    assert.ok(names.includes('webfarm-10.0.0.101-tcp-21'));
    assert.ok(!names.includes('webfarm-10.0.0.101-tcp-80'));
    assert.match(text, /All 80 Tcp on 10\.0\.0\.101 port 80 TCP: its own rule 10\.0\.0\.101 80 Tcp applies there/);
  });

  it('the list and JSON forms give the same config', async () => {
    const list = await imported(webfarm('list'));
    const json = await imported(webfarm('json'));
    assert.deepEqual(json.config, list.config);
    assert.equal(list.config.virtualServices.length, 8);
  });
});

describe('nlb import: health checks', () => {
  it('HTTP on 80 and HTTPS on 443 with the host-header advice, TCP elsewhere, DNS on UDP 53, none for the UDP side of Both', async () => {
    const { config, text } = await imported(webfarm('table'));
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-80').healthCheck, { type: 'http', path: '/' });
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-443').healthCheck, { type: 'https', path: '/' });
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-3389').healthCheck, { type: 'tcp' });
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-udp-53').healthCheck, { type: 'dns' });
    // SIP, syslog and RADIUS often listen on no TCP port: a TCP check would mark every server down.
    assert.equal(service(config, 'webfarm-10.0.0.100-udp-5060').healthCheck, undefined);
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-5060').healthCheck, { type: 'tcp' });
    assert.match(text, /webfarm-10\.0\.0\.100-udp-5060\n(?: {4}.*\n)*? {4}# No health check: a UDP service has no connection to test\./);
    assert.match(
      text,
      /# If the site is bound to host names \(IIS host-header bindings\), a request for the bare IP gets 400 or 404\n {4}# and every server is marked down: add host: www\.example\.com \(httpVersion "1\.1", the default, sends it\)\.\n {4}healthCheck: \{ type: http, path: \/ \}\n/,
    );
  });

  it('a UDP-only rule on another port gets no check, and a comment saying why', async () => {
    const rules = [
      'IPAddress State     Start     End       Protocol  Mode      Affinity  Timeout',
      '--------- -----     -----     ---       --------  ----      --------  -------',
      'All       Enabled   514       514       Udp       Multiple  None      0',
    ].join('\n');
    const { config, text } = await imported([fixture('webfarm-cluster.table.txt'), fixture('webfarm-dips.table.txt'), inline('syslog.txt', rules)]);
    assert.equal(service(config, 'webfarm-10.0.0.100-udp-514').healthCheck, undefined);
    assert.match(text, /scheduler: round-robin\n {4}# No health check: a UDP service has no connection to test\. Add healthCheck: \{ type: tcp, port: N \} if the\n {4}# servers also listen on a TCP port; until then every real server counts as up, as in NLB\.\n {4}realServers:\n/);
  });
});

describe('nlb import: node addresses', () => {
  it('fails when a node has no dedicated address, naming the node and the --address flag', async () => {
    const problems = await refused(webfarm('table', ['cluster', 'nodes', 'portrules']));
    assert.deepEqual(
      problems.map((found) => [found.code, found.message]),
      ['web1', 'web2', 'web3'].map((node) => [NlbImportCode.NODE_ADDRESS, `no address for NLB node ${node}: add the output of Get-NlbClusterNodeDip, or give it with --address ${node}=IP`]),
    );
  });

  it('--address supplies a missing address, and overrides a dedicated one', async () => {
    const supplied = await imported(webfarm('table', ['cluster', 'nodes', 'portrules']), {
      addresses: [['web1', '192.0.2.1'], ['WEB2', '192.0.2.2'], ['web3.contoso.com', '192.0.2.3']],
    });
    assert.deepEqual(service(supplied.config, 'webfarm-10.0.0.100-tcp-80').realServers.map((server) => server.address), ['192.0.2.1:80', '192.0.2.2:80', '192.0.2.3:80']);
    const overridden = await imported(webfarm('table'), { addresses: [['web2', '10.9.9.9']] });
    assert.deepEqual(service(overridden.config, 'webfarm-10.0.0.100-tcp-80').realServers.map((server) => server.address), ['10.0.0.11:80', '10.9.9.9:80', '10.0.0.13:80']);
  });

  it('--address for a node the input does not have is an error (a typo would leave the real node out)', async () => {
    const problems = await refused(webfarm('table'), { addresses: [['web9', '10.0.0.19']] });
    assert.deepEqual(problems.map((found) => found.message), ['--address web9=10.0.0.19: the input has no node web9 (its nodes: web1, web2, web3)']);
  });

  it('with only the cluster and its port rules, the --address flags are the nodes', async () => {
    const { config } = await imported(webfarm('table', ['cluster', 'portrules']), { addresses: [['a', '10.1.0.1'], ['b', '10.1.0.2']], ports: [443] });
    assert.deepEqual(service(config, 'webfarm-10.0.0.100-tcp-443').realServers.map((server) => server.address), ['10.1.0.1:443', '10.1.0.2:443']);
  });

  it('two nodes at one address are an error', async () => {
    const problems = await refused(webfarm('table'), { addresses: [['web1', '10.0.0.12']] });
    assert.match(problems[0]?.message ?? '', /^nodes web1 and web2 both have the address 10\.0\.0\.12; give each its own with --address NODE=IP$/);
  });
});

describe("nlb import: NLB's default rule and Microsoft's own examples", () => {
  it('a range wider than 64 ports fails, naming the rule and --ports', async () => {
    const problems = await refused([fixture('microsoft-docs-examples.txt')]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.code, NlbImportCode.PORT_RANGE);
    assert.match(problems[0]?.message ?? '', /^port rule All 0-65535 Both \(Multiple hosts\) covers 65535 ports; .* up to 64\. Name the ports clients use with --ports \(e\.g\. --ports 80,443 or --ports 8000-8010\), or narrow the rule in NLB \(Set-NlbClusterPortRule/);
  });

  it('--ports picks the ports to import from a wide rule; the link-local dedicated address is not used', async () => {
    const { config, warnings } = await imported([fixture('microsoft-docs-examples.txt')], { ports: [80, 443, 8080] });
    assert.deepEqual(
      config.virtualServices.map((vs) => [vs.name, vs.scheduler, vs.persistence?.type, vs.realServers.map((server) => server.address).join(' ')]),
      [
        ['cluster1-3.53.100.100-tcp-80', 'round-robin', 'source-ip', '3.53.4.1:80 3.53.4.2:80'],
        ['cluster1-3.53.100.100-udp-80', 'round-robin', 'source-ip', '3.53.4.1:80 3.53.4.2:80'],
        ['cluster1-3.53.100.100-tcp-443', 'round-robin', 'source-ip', '3.53.4.1:443 3.53.4.2:443'],
        ['cluster1-3.53.100.100-udp-443', 'round-robin', 'source-ip', '3.53.4.1:443 3.53.4.2:443'],
        ['cluster1-3.53.100.100-tcp-8080', 'round-robin', 'source-ip', '3.53.4.1:8080 3.53.4.2:8080'],
        ['cluster1-3.53.100.100-udp-8080', 'round-robin', 'source-ip', '3.53.4.1:8080 3.53.4.2:8080'],
      ],
    );
    assert.ok(warnings.some((warning) => /no per-node load weights/.test(warning)));
  });

  it("Microsoft's per-node single-host example: handling priority 1 then 2 become weights 32 and 31", async () => {
    const cluster = inline('cluster.txt', ['Name                IPAddress           SubnetMask          Mode', '----                ---------           ----------          ----', 'mycluster           3.53.100.100        255.0.0.0           MULTICAST'].join('\n'));
    const files = [cluster, fixture('microsoft-docs-portrules-per-node.list.txt')];
    const { config, text } = await imported(files, { ports: [3389], addresses: [['node1', '3.53.4.1'], ['node2', '3.53.4.2']] });
    assert.deepEqual(
      config.virtualServices.map((vs) => [vs.name, vs.scheduler, vs.realServers]),
      [
        ['mycluster-3.53.100.100-tcp-3389', 'fixed-weight', [{ address: '3.53.4.1:3389', weight: 32 }, { address: '3.53.4.2:3389', weight: 31 }]],
        ['mycluster-3.53.100.100-udp-3389', 'fixed-weight', [{ address: '3.53.4.1:3389', weight: 32 }, { address: '3.53.4.2:3389', weight: 31 }]],
      ],
    );
    assert.match(text, /^# {3}cluster mycluster: Mode MULTICAST, SubnetMask 255\.0\.0\.0$/m);
  });

  it('an All rule without Get-NlbCluster output fails: the cluster address is unknown', async () => {
    const problems = await refused([fixture('microsoft-docs-portrules-per-node.list.txt')], { ports: [3389], addresses: [['node1', '3.53.4.1'], ['node2', '3.53.4.2']] });
    assert.deepEqual(problems.map((found) => found.message), [
      'port rule All 0-65535 Both applies to every cluster IP address, and the input names none: add the output of Get-NlbCluster (and Get-NlbClusterVip for additional addresses)',
    ]);
  });
});

describe('nlb import: inputs it cannot use', () => {
  it('a file that is none of the supported forms says which forms are', async () => {
    const problems = await refused([inline('notes.txt', 'NLB cluster on web1 and web2\nports 80 and 443\n')]);
    assert.equal(problems[0]?.code, NlbImportCode.FORMAT);
    assert.match(problems[0]?.message ?? '', /^notes\.txt is none of the supported forms: the output of Get-NlbCluster, .*Get-NlbClusterPortRule, as PowerShell prints it by default \(a table\), with Format-List -Property \*, or with ConvertTo-Json$/);
  });

  it('objects from another cmdlet are named, with the forms that are read', async () => {
    const services = ['Status   Name               DisplayName', '------   ----               -----------', 'Running  W3SVC              World Wide Web Publishing Service'].join('\n');
    const problems = await refused([...webfarm('table'), inline('services.txt', services)]);
    assert.match(problems[0]?.message ?? '', /^services\.txt: its objects \(properties Status, Name, DisplayName\) come from none of the NLB cmdlets this import reads/);
  });

  it('nothing to import when every rule is disabled', async () => {
    const rules = [
      'IPAddress State     Start     End       Protocol  Mode      Affinity  Timeout',
      '--------- -----     -----     ---       --------  ----      --------  -------',
      'All       Enabled   0         65535     Both      Disabled            0',
    ].join('\n');
    const problems = await refused([fixture('webfarm-cluster.table.txt'), fixture('webfarm-dips.table.txt'), inline('rules.txt', rules)]);
    assert.deepEqual(problems.map((found) => [found.code, found.message]), [
      [NlbImportCode.CLUSTER, 'nothing to import: no port rule becomes a virtual service (All 0-65535 Both: filtering mode Disabled (NLB drops this traffic; nothing listens for it here))'],
    ]);
  });

  it('overlapping port rules (which NLB refuses) are reported, not written', async () => {
    const rules = [
      'IPAddress State     Start     End       Protocol  Mode      Affinity  Timeout',
      '--------- -----     -----     ---       --------  ----      --------  -------',
      'All       Enabled   80        81        Tcp       Multiple  None      0',
      'All       Enabled   81        81        Both      Multiple  Single    0',
    ].join('\n');
    const problems = await refused([fixture('webfarm-cluster.table.txt'), fixture('webfarm-dips.table.txt'), inline('rules.txt', rules)]);
    assert.deepEqual(problems.map((found) => found.message), [
      'port rules All 80-81 Tcp and All 81 Both both cover 10.0.0.100 port 81 TCP, which NLB does not allow; the files mix outputs of different times or clusters: export them again',
    ]);
  });

  it('a node that was not converged is still a real server, with a warning', async () => {
    const nodes = ['Name                State               Interface           HostID', '----                -----               ---------           ------', 'web1                Converged(default)  Ethernet 2          1', 'web2                Stopped             Ethernet 2          2', 'web3                Converged           Ethernet 2          3'].join('\n');
    const { config, warnings } = await imported([...webfarm('table', ['cluster', 'dips', 'portrules']), inline('nodes.txt', nodes)]);
    assert.equal(service(config, 'webfarm-10.0.0.100-tcp-80').realServers[1]?.address, '10.0.0.12:80');
    assert.ok(warnings.includes('node web2 was Stopped in NLB when this was exported; here it is an enabled real server (set state: disabled on its entries to keep it out)'));
  });

  it('two clusters in one import are refused', async () => {
    const other = inline('other.txt', ['Name                IPAddress           SubnetMask          Mode', '----                ---------           ----------          ----', 'mailfarm            10.0.1.100          255.255.255.0       MULTICAST'].join('\n'));
    const problems = await refused([...webfarm('table'), other]);
    assert.deepEqual(problems.map((found) => found.message), ['the input describes 2 clusters (webfarm 10.0.0.100, mailfarm 10.0.1.100); import one cluster at a time']);
  });

  it('names stay valid, unique and at most 64 characters whatever the cluster is called', async () => {
    const cluster = inline('cluster.txt', ['Name                                          IPAddress           SubnetMask          Mode', '----                                          ---------           ----------          ----', 'Contoso Web Farm (production) east region 01  10.0.0.100          255.255.255.0       UNICAST'].join('\n'));
    const { config } = await imported([cluster, ...webfarm('table', ['nodes', 'dips', 'portrules'])]);
    const names = config.virtualServices.map((vs) => vs.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, /^[A-Za-z0-9._-]{1,64}$/);
    assert.equal(names[0], 'Contoso-Web-Farm-production-east-region-01-10.0.0.100-tcp-80');
  });
});

describe('nlb import: the command', () => {
  function capture(): { io: { stdout: (text: string) => void; stderr: (text: string) => void }; out: () => string; err: () => string } {
    let out = '';
    let err = '';
    return { io: { stdout: (text) => (out += text), stderr: (text) => (err += text) }, out: () => out, err: () => err };
  }

  it('prints the YAML on stdout and the warnings on stderr', async () => {
    const { io, out, err } = capture();
    const code = await importCommand(['webfarm-cluster.table.txt', 'webfarm-nodes.table.txt', 'webfarm-dips.table.txt', 'webfarm-portrules.table.txt'].map(fixturePath), {}, io);
    assert.equal(code, 0);
    assert.match(out(), /^# Fulcrum config imported from Windows NLB cluster webfarm \(10\.0\.0\.100\)/);
    assert.ok(loadConfigText(out(), 'out.yaml').ok);
    assert.match(err(), /^fulcrum: warning: port rules All 80 Tcp; /);
  });

  it('--json prints { config, warnings }', async () => {
    const { io, out } = capture();
    const code = await importCommand([...['webfarm-cluster.json', 'webfarm-nodes.json', 'webfarm-dips.json', 'webfarm-portrules.json'].map(fixturePath)], { json: true }, io);
    assert.equal(code, 0);
    const document = JSON.parse(out()) as { config: ConfigDraft; warnings: string[] };
    assert.deepEqual(Object.keys(document), ['config', 'warnings']);
    assert.equal(document.config.virtualServices.length, 8);
    // The specific rule for 10.0.0.101 21 Tcp (FTP), and All rules without Get-NlbClusterVip output.
    assert.equal(document.warnings.length, 2);
    assert.match(document.warnings[0] ?? '', /^port rule 10\.0\.0\.101 21 Tcp: port 21 \(FTP\) is written as protocol tcp, .*protocol: ftp with ftp: \{ mode: alg, passivePorts: FIRST-LAST \}/);
    assert.match(document.warnings[1] ?? '', /^port rules All 80 Tcp; .* the import knows only 10\.0\.0\.100, 10\.0\.0\.101 \(.*Get-NlbClusterVip/);
  });

  it('a bug or a JSON document 5,000 levels deep is one line on stderr and exit 1, never a stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fulcrum-nlb-deep-'));
    try {
      const deep = join(dir, 'deep.json');
      await writeFile(deep, `${'['.repeat(5000)}1${']'.repeat(5000)}\n`);
      const { io, err } = capture();
      assert.equal(await importCommand([deep], {}, io), 1);
      assert.match(err(), /^fulcrum: .*deep\.json:1: this JSON nests 5000 levels deep, more than the 64 read here: it is not an NLB cmdlet's ConvertTo-Json output\n$/);

      const broken = capture();
      const failing = { stdout: () => { throw new RangeError('Maximum call stack size exceeded'); }, stderr: broken.io.stderr };
      assert.equal(await importCommand(['webfarm-cluster.json', 'webfarm-nodes.json', 'webfarm-dips.json', 'webfarm-portrules.json'].map(fixturePath), {}, failing), 1);
      assert.equal(broken.err(), 'fulcrum: nlb import: RangeError: Maximum call stack size exceeded (a bug in the import; please report it with the input)\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--address and --ports as flags; a missing address exits 1 with the node and the flag on stderr', async () => {
    const picked = capture();
    assert.equal(await importCommand([fixturePath('microsoft-docs-examples.txt'), '--ports', '80'], {}, picked.io), 0);
    assert.match(picked.out(), /\n {2}- name: cluster1-3\.53\.100\.100-tcp-80\n/);
    const missing = capture();
    assert.equal(await importCommand([fixturePath('webfarm-cluster.table.txt'), fixturePath('webfarm-portrules.table.txt'), fixturePath('webfarm-nodes.table.txt'), '--ports=443'], {}, missing.io), 1);
    assert.equal(missing.out(), '');
    assert.match(missing.err(), /^fulcrum: no address for NLB node web1: add the output of Get-NlbClusterNodeDip, or give it with --address web1=IP\n/);
    const given = capture();
    const args = [fixturePath('webfarm-cluster.table.txt'), fixturePath('webfarm-portrules.table.txt'), fixturePath('webfarm-nodes.table.txt'), '--ports', '443,8000-8001', '--address', 'web1=10.0.0.21', '--address=web2=10.0.0.22', '--address', 'web3=10.0.0.23'];
    assert.equal(await importCommand(args, { json: true }, given.io), 0);
    const { config } = JSON.parse(given.out()) as { config: ConfigDraft };
    assert.deepEqual(config.virtualServices.map((vs) => vs.name), ['webfarm-10.0.0.100-tcp-443', 'webfarm-10.0.0.100-tcp-8000', 'webfarm-10.0.0.100-tcp-8001']);
    assert.equal(config.virtualServices[0]?.realServers[2]?.address, '10.0.0.23:443');
  });

  it('with --json a failure also prints { errors, warnings } on stdout', async () => {
    const { io, out } = capture();
    assert.equal(await importCommand([fixturePath('microsoft-docs-examples.txt')], { json: true }, io), 1);
    const document = JSON.parse(out()) as { errors: { code: string }[] };
    assert.deepEqual(document.errors.map((found) => found.code), [NlbImportCode.PORT_RANGE]);
  });

  it('usage errors: no file, a malformed --address or --ports, an unknown option', async () => {
    const { io } = capture();
    assert.match((await importCommand([], {}, io) as { usage: string }).usage, /^nlb import needs at least one file: the output of Get-NlbCluster/);
    assert.deepEqual(await importCommand(['x.txt', '--address', 'web1'], {}, io), { usage: '--address expects NODE=IP, e.g. --address web1=10.0.0.11 (got "web1")' });
    assert.deepEqual(await importCommand(['x.txt', '--address', 'web1=web1.contoso.com'], {}, io), { usage: '--address web1=web1.contoso.com: "web1.contoso.com" is not an IP address' });
    assert.deepEqual(await importCommand(['x.txt', '--ports', '0-10'], {}, io), { usage: '--ports expects ports and ranges within 1-65535, e.g. --ports 80,443,8000-8010 (got "0-10")' });
    assert.match((await importCommand(['x.txt', '--adress', 'a=1.2.3.4'], {}, io) as { usage: string }).usage, /Unknown option '--adress'/);
  });

  it('a file that cannot be read exits 1 and says why', async () => {
    const { io, err } = capture();
    assert.equal(await importCommand([join(REPO, 'test/nlb/fixtures/powershell/no-such-file.txt')], {}, io), 1);
    assert.match(err(), /^fulcrum: cannot read .*no-such-file\.txt: no such file\n$/);
  });
});

describe('nlb import: round trip through `fulcrum check`', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fulcrum-nlb-import-'));
  });
  after(async () => {
    await rm(dir, { recursive: true });
  });

  it('the config imported from the Format-List outputs passes `fulcrum check` as it is', async () => {
    const { text, config } = await imported(webfarm('list'));
    const file = join(dir, 'webfarm.yaml');
    await writeFile(file, text);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(REPO, 'bin/fulcrum.js'), 'check', '-c', file], { cwd: REPO, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
      });
    });
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${file}: OK (${config.virtualServices.length} virtual services)\n`);
  });
});
