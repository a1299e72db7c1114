import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { configJsonSchema, configReferenceMarkdown } from '../../src/config/reference.ts';
import { terminationCodesMarkdown } from '../../src/exchange/termination-doc.ts';

const repo = new URL('../../', import.meta.url);

type Node = { description?: string; properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; oneOf?: Node[] };

/** Every key path under `node` whose schema has no description. */
function undescribed(node: Node, path: string): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const childPath = `${path}${path === '' ? '' : '.'}${key}`;
    if (child.description === undefined) missing.push(childPath);
    missing.push(...undescribed(child, childPath));
  }
  if (node.items !== undefined) missing.push(...undescribed(node.items, `${path}[]`));
  for (const member of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) missing.push(...undescribed(member, path));
  return missing;
}

describe('generated reference', () => {
  it('describes every key (the docs, the editor and the console show these)', () => {
    assert.deepEqual(undescribed(configJsonSchema() as Node, ''), []);
  });

  it('schema/fulcrum.schema.json and docs/configuration.md are up to date (run npm run schema)', async () => {
    const schemaFile = await readFile(new URL('schema/fulcrum.schema.json', repo), 'utf8');
    assert.equal(schemaFile, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    const docsFile = await readFile(new URL('docs/configuration.md', repo), 'utf8');
    assert.equal(docsFile, configReferenceMarkdown());
    const codes = await readFile(new URL('docs/termination-codes.md', repo), 'utf8');
    assert.equal(codes, terminationCodesMarkdown());
  });

  it('describes the input form: durations and addresses as text, with their defaults', () => {
    const text = JSON.stringify(configJsonSchema());
    assert.match(text, /"default":"10s"/);
    assert.match(configReferenceMarkdown(), /\| `virtualServices\[\]\.timeouts\.connect` \| duration \| `3s` \|/);
    assert.match(configReferenceMarkdown(), /\| `virtualServices\[\]\.realServers\[\]\.address` \| `host:port` \| \*\*required\*\* \|/);
  });
});
