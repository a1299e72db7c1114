// testssl.sh on each TLS policy (issue 11): Fulcrum serves modern, intermediate and old on three
// ports and testssl scans the three at once. No finding of severity HIGH or CRITICAL may remain on
// modern and intermediate, with nothing excluded; on old, only what the policy promises is
// asserted (TLS 1.3 and TLS 1.0 offered, never SSL) and its findings are reported.
//
// The certificates are made for the scan (RSA and ECDSA, 90 days, a random 128-bit serial, a CRL
// distribution point, signed by the test intermediate) and the test root is given to testssl
// (--add-ca): the fixtures' 100-year validity and missing revocation URL would be HIGH findings
// about the test PKI, not about a policy, and an untrusted root a CRITICAL one.
//
// Checks, chosen for time: each testssl forks for every handshake it sends and spends ~17 CPU s
// starting up; the three scans take ~270 CPU s in all (measured), so over 2 minutes on two idle
// cores at best, and 6.5 minutes were measured on two cores shared with other test runs.
// Protocols (-p), cipher categories (-s), forward secrecy (-f) and vulnerabilities (-U) on every
// policy; server defaults (-S, ~37 CPU s) on intermediate only, since the certificates and
// session settings they show are the same on the three services. Left out: client simulation
// (-c), each cipher (-e, -E), server preference (-P) and headers (-h). --ssl-native would halve
// the CPU but leaves SSLv2/SSLv3, export, LOW, 3DES, RC4, CRIME, SWEET32, FREAK and LOGJAM
// untested with Debian's OpenSSL 3.0, which lacks them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { freePort, startBackends, startFulcrum, type Backends, type Fulcrum } from '../test/helpers/fulcrum.ts';
import { run, teardown } from '../test/helpers/processes.ts';
import { peer, requirePeers } from './peers.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'tls');
const ROOT_CA = path.join(FIXTURES, 'root-ca.pem');
const INTERMEDIATE = path.join(FIXTURES, 'intermediate-ca');
const NAME = 'www.surveyor.lab';
const SCAN_TIMEOUT_MS = 480_000;

type Policy = 'modern' | 'intermediate' | 'old';
const SCANS: ReadonlyArray<{ policy: Policy; checks: readonly string[] }> = [
  { policy: 'modern', checks: ['-p', '-s', '-f', '-U'] },
  { policy: 'intermediate', checks: ['-p', '-s', '-f', '-S', '-U'] },
  { policy: 'old', checks: ['-p', '-s', '-f', '-U'] },
];

/** One line of testssl's flat JSON (--jsonfile). */
interface Finding {
  id: string;
  severity: 'OK' | 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'WARN' | 'DEBUG' | 'FATAL';
  finding: string;
}

interface Scan {
  findings: Finding[];
  seconds: number;
  /** testssl's screen output, for failure messages. */
  output: string;
}

const SERIOUS = new Set(['HIGH', 'CRITICAL']);
const REPORTED = new Set(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'WARN']);

/** A certificate as a real service would have it, for KEYTYPE rsa or ec: leaf then intermediate. */
async function scanCertificate(dir: string, keyType: 'rsa' | 'ec'): Promise<{ cert: string; key: string }> {
  const openssl = peer('openssl');
  const base = path.join(dir, keyType);
  const key = `${base}.key`;
  await run(openssl, ['genpkey', '-algorithm', keyType === 'rsa' ? 'RSA' : 'EC', '-pkeyopt', keyType === 'rsa' ? 'rsa_keygen_bits:2048' : 'ec_paramgen_curve:P-256', '-out', key]);
  await run(openssl, ['req', '-new', '-key', key, '-subj', `/CN=${NAME}`, '-out', `${base}.csr`]);
  const extensions = `${base}.cnf`;
  await writeFile(
    extensions,
    [
      '[leaf]',
      'basicConstraints = critical, CA:FALSE',
      `keyUsage = critical, ${keyType === 'rsa' ? 'digitalSignature, keyEncipherment' : 'digitalSignature'}`,
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
      `subjectAltName = DNS:${NAME}`,
      'crlDistributionPoints = URI:http://crl.surveyor.lab/intermediate.crl',
      '',
    ].join('\n'),
  );
  // A leading 1 keeps the serial positive and 16 bytes long (CA/B Forum: at least 64 random bits).
  const serial = `0x1${randomBytes(15).toString('hex')}`;
  await run(openssl, ['x509', '-req', '-in', `${base}.csr`, '-CA', `${INTERMEDIATE}.pem`, '-CAkey', `${INTERMEDIATE}.key`, '-set_serial', serial, '-days', '90', '-sha256', '-extfile', extensions, '-extensions', 'leaf', '-out', `${base}.leaf.pem`]);
  const cert = `${base}.pem`;
  await writeFile(cert, (await readFile(`${base}.leaf.pem`, 'utf8')) + (await readFile(`${INTERMEDIATE}.pem`, 'utf8')));
  return { cert, key };
}

async function testssl(port: number, checks: readonly string[], jsonFile: string): Promise<Scan> {
  const started = Date.now();
  // -n none and --ip: no DNS at all; the URL's name is what SNI and the certificate check use.
  const args = ['--quiet', '--color', '0', '--warnings', 'batch', '-n', 'none', '--ip', '127.0.0.1', '--openssl', peer('openssl'), '--add-ca', ROOT_CA];
  args.push('--connect-timeout', '10', '--openssl-timeout', '10', '--jsonfile', jsonFile, ...checks, `https://${NAME}:${port}`);
  // testssl's exit code is not a verdict (it is non-zero after some warnings): the JSON is.
  const { stdout, stderr } = await run(peer('testssl'), args, { timeoutMs: SCAN_TIMEOUT_MS, allowFailure: true });
  const output = `${stdout}\n${stderr}`;
  let findings: Finding[];
  try {
    findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
  } catch (error) {
    throw new Error(`testssl wrote no JSON for port ${port} (${String(error)}):\n${output}`);
  }
  return { findings, seconds: (Date.now() - started) / 1000, output };
}

function byId(scan: Scan, id: string): Finding {
  const found = scan.findings.find((f) => f.id === id);
  assert.ok(found, `testssl reported no "${id}":\n${scan.output}`);
  return found;
}

function assertProtocols(scan: Scan, offered: readonly string[], notOffered: readonly string[]): void {
  for (const id of offered) assert.match(byId(scan, id).finding, /^offered/, `${id}: ${JSON.stringify(byId(scan, id))}`);
  for (const id of notOffered) assert.match(byId(scan, id).finding, /^not offered/, `${id}: ${JSON.stringify(byId(scan, id))}`);
}

/** What testssl found worth a word, one line each, for the test's diagnostics. */
function report(t: TestContext, policy: Policy, scan: Scan): void {
  t.diagnostic(`${policy}: testssl took ${scan.seconds.toFixed(0)} s`);
  // engine_problem is about testssl's own openssl (no GOST engine), not the server.
  for (const f of scan.findings) if (REPORTED.has(f.severity) && f.id !== 'engine_problem') t.diagnostic(`${policy}: ${f.severity} ${f.id}: ${f.finding}`);
}

function assertNothingSerious(scan: Scan): void {
  const serious = scan.findings.filter((f) => SERIOUS.has(f.severity));
  assert.deepEqual(
    serious.map((f) => `${f.severity} ${f.id}: ${f.finding}`),
    [],
    'testssl found HIGH or CRITICAL issues (the scan output is in the diagnostics above)',
  );
}

describe('testssl.sh on each TLS policy', () => {
  let backends: Backends | undefined;
  let fulcrum: Fulcrum | undefined;
  let workDir = '';
  const scans = new Map<Policy, Scan>();

  before(async () => {
    // A missing testssl fails here, naming scripts/install-peers.sh.
    requirePeers('openssl');
    peer('testssl');
    workDir = await mkdtemp(path.join(tmpdir(), 'interop-testssl-'));
    const certificates = [await scanCertificate(workDir, 'rsa'), await scanCertificate(workDir, 'ec')];
    backends = await startBackends(1);
    const ports = new Map<Policy, number>();
    for (const { policy } of SCANS) ports.set(policy, await freePort());
    fulcrum = await startFulcrum({
      // One worker: the scans are what should have the CPU.
      workers: 1,
      config: stringify({
        accessLog: 'off',
        pools: [{ name: 'web', realServers: backends.servers.map((b) => ({ address: b.address })) }],
        virtualServices: SCANS.map(({ policy }) => ({ name: policy, listen: `127.0.0.1:${ports.get(policy)}`, protocol: 'https', pool: 'web', tls: { certificates, policy } })),
      }),
    });
    const results = await Promise.all(SCANS.map(({ policy, checks }) => testssl(ports.get(policy)!, checks, path.join(workDir, `${policy}.json`))));
    SCANS.forEach(({ policy }, i) => scans.set(policy, results[i]!));
  });

  after(async () => {
    await teardown(
      () => fulcrum?.stop(),
      () => backends?.close(),
      () => workDir !== '' && rm(workDir, { recursive: true, force: true }),
    );
  });

  it('every scan ran to its end and trusted the chain', () => {
    for (const { policy, checks } of SCANS) {
      const scan = scans.get(policy)!;
      const fatal = scan.findings.filter((f) => f.severity === 'FATAL' || f.id === 'scanProblem');
      assert.deepEqual(fatal, [], `${policy}: testssl could not finish:\n${scan.output}`);
      byId(scan, 'scanTime');
      for (const id of ['SSLv2', 'cipherlist_NULL', 'PFS', 'heartbleed', 'ROBOT']) byId(scan, id);
      if (checks.includes('-S')) assert.equal(byId(scan, 'cert_chain_of_trust <cert#1>').severity, 'OK', 'the test root given by --add-ca verifies the chain');
    }
  });

  it('modern: TLS 1.3 only, and no finding of severity HIGH or CRITICAL', (t) => {
    const scan = scans.get('modern')!;
    report(t, 'modern', scan);
    assertProtocols(scan, ['TLS1_3'], ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2']);
    assertNothingSerious(scan);
  });

  it('intermediate: TLS 1.2 and 1.3, and no finding of severity HIGH or CRITICAL', (t) => {
    const scan = scans.get('intermediate')!;
    report(t, 'intermediate', scan);
    assertProtocols(scan, ['TLS1_2', 'TLS1_3'], ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']);
    assertNothingSerious(scan);
  });

  it('old: TLS 1.0 to 1.3 as it promises, never SSL; its findings are reported', (t) => {
    const scan = scans.get('old')!;
    report(t, 'old', scan);
    assertProtocols(scan, ['TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3'], ['SSLv2', 'SSLv3']);
  });
});
