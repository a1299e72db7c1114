// scanAdminSection reads admin.listen without the YAML parser for the usual shapes, and says
// "not sure" (undefined) for anything else; when it answers, the answer is the parser's.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { scanAdminSection, type AdminSection } from '../../src/cli/admin-listen.ts';

function parsed(text: string): AdminSection {
  const doc = parseDocument(text);
  const listen: unknown = doc.getIn(['admin', 'listen']);
  const tls: unknown = doc.getIn(['admin', 'tls']);
  return { listen: listen === null || listen === undefined ? undefined : String(listen), tls: tls !== undefined && tls !== null };
}

const VS = 'virtualServices:\n  - name: web\n    listen: 127.0.0.1:8080\n    realServers: [{ address: 127.0.0.1:9001 }]\n';

/** The shapes the docs and examples write: read without the parser, as the parser reads them. */
const READ = [
  `admin:\n  listen: 127.0.0.1:9090\n${VS}`,
  `${VS}admin:\n  listen: 127.0.0.1:9090          # the console, the API and /metrics\n  # listen: 0.0.0.0:9443\n  # tls: { certificates: [] }\n  allowedHosts: [lb1.example.com]\n`,
  `# comment\nadmin: { listen: 127.0.0.1:9090 }\n${VS}`,
  `admin: { listen: 127.0.0.1:9090, allowedHosts: lb1 } # note\n${VS}`,
  `admin:\n    listen: "[::1]:9443"\n    tls:\n      certificates:\n        - { cert: a.pem, key: a.key }\n${VS}`,
  `admin:\n  tls: { certificates: [{ cert: a.pem, key: a.key }] }\n  listen: '0.0.0.0:9443'\n${VS}`,
  `admin:\n  listen: localhost:9090\n  tls: null\n${VS}`,
  `admin:\n  listen: 127.0.0.1:9090\n  tls:\n${VS}`,
  `admin:\n  listen: ~\n${VS}`,
  `admin:\n${VS}`,
  VS,
  `admin: null\r\n${VS.replaceAll('\n', '\r\n')}`,
];

/** Only a parser reads these right: the reader must say it is not sure. */
const UNSURE = [
  `admin:\n  listen: &a 127.0.0.1:9090\n${VS}`,
  `base: &b { listen: 127.0.0.1:9090 }\nadmin: *b\n${VS}`,
  `admin:\n  <<: *b\n${VS}`,
  `admin:\n  listen: "127.0.0.1:90\\x390"\n${VS}`,
  `admin:\n  listen: 127.0.0.1:\n    9090\n${VS}`,
  `admin:\n  listen: 9090\n${VS}`,
  `admin:\n  listen: [::1]:9090\n${VS}`,
  `admin: { listen: "127.0.0.1:9090" }\n${VS}`,
  `admin: { listen: 127.0.0.1:9090, tls: { certificates: [] } }\n${VS}`,
  `"admin":\n  listen: 127.0.0.1:9090\n${VS}`,
  `? admin\n: listen: 127.0.0.1:9090\n${VS}`,
  `---\nadmin:\n  listen: 127.0.0.1:9090\n`,
  `%YAML 1.2\n---\nadmin: { listen: 127.0.0.1:9090 }\n`,
  `  admin:\n    listen: 127.0.0.1:9090\n`,
  `admin:\n\tlisten: 127.0.0.1:9090\n`,
  `{"admin": {"listen": "127.0.0.1:9090"}}`,
  `admin:\n  listen: 127.0.0.1:9090\nadmin:\n  listen: 127.0.0.1:9091\n`,
  `admin:\n  listen: 127.0.0.1:9090\n  listen: 127.0.0.1:9091\n`,
  `admin: !!map\n  listen: 127.0.0.1:9090\n`,
  `admin:\n    listen: 127.0.0.1:9090\n  tls: {}\n`,
  `virtualServices:\n- name: web\nadmin:\n  listen: 127.0.0.1:9090\n`,
];

describe('scanAdminSection', () => {
  it('reads the usual shapes exactly as the YAML parser does', () => {
    for (const text of READ) assert.deepEqual(scanAdminSection(text), parsed(text), text);
  });

  it('is not sure of anchors, aliases, escapes, multi-line values, numbers, flow values, documents, tabs, JSON, duplicates', () => {
    for (const text of UNSURE) assert.equal(scanAdminSection(text), undefined, text);
  });

  it('reads every example config in the repository as the parser does (or leaves it to the parser)', async () => {
    for (const name of ['quickstart.yaml', 'health-and-persistence.yaml', 'sample.yaml', 'gslb.yaml']) {
      const text = await readFile(new URL(`../../examples/${name}`, import.meta.url), 'utf8');
      const scanned = scanAdminSection(text);
      if (scanned !== undefined) assert.deepEqual(scanned, parsed(text), name);
    }
    const quickstart = await readFile(new URL('../../examples/quickstart.yaml', import.meta.url), 'utf8');
    assert.deepEqual(scanAdminSection(quickstart), { listen: '127.0.0.1:9090', tls: false });
  });
});
