// A replaced item of the config keeps the comments and layout of what did not change in it
// (src/admin/collections/yaml-merge.ts), and render() gives back the file's own spacing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { items, render, replaceAt, setSection, type ListSpec } from '../../src/admin/collections/yaml-list.ts';

const SERVICES: ListSpec = { path: ['virtualServices'], key: 'name', normalise: (id) => id };

const TEXT = [
  'virtualServices:',
  '  - name: web            # the public site',
  '    listen: 127.0.0.1:80',
  '    scheduler: round-robin   # simple',
  '    headers: [x-a,x-b]',
  '    realServers:',
  '      # node 1',
  '      - address: 10.0.0.1:80   # rack 1',
  '        weight: 100',
  '      # node 2',
  '      - address: 10.0.0.2:80   # rack 2',
  '        weight: 100',
  '      - { address: 10.0.0.3:80, weight: 5 }   # small',
  '',
].join('\n');

function replaced(change: (item: Record<string, any>) => Record<string, unknown>): string {
  const doc = parseDocument(TEXT);
  replaceAt(doc, SERVICES, 0, change(structuredClone(items(doc, SERVICES)[0]!)));
  return render(doc, TEXT);
}

describe('replacing an item of the config', () => {
  it('the same item gives the same text', () => {
    assert.equal(replaced((item) => item), TEXT);
  });

  it('a changed value changes its line only; comments, spacing and flow style stay', () => {
    // The changed lines keep their comments, with the one space the printer writes before them.
    assert.equal(
      replaced((item) => ({ ...item, scheduler: 'least-connections', realServers: item.realServers.map((rs: { address: string }, i: number) => (i === 2 ? { ...rs, weight: 7 } : rs)) })),
      TEXT.replace('round-robin   # simple', 'least-connections # simple').replace('weight: 5 }   # small', 'weight: 7 } # small'),
    );
  });

  it('list items are matched by address: one removed from the middle takes its own comment, a new one comes last', () => {
    const after = replaced((item) => ({ ...item, realServers: [item.realServers[0], item.realServers[2], { address: '10.0.0.4:80' }] }));
    assert.equal(
      after,
      [...TEXT.split('\n').slice(0, 9), '      - { address: 10.0.0.3:80, weight: 5 }   # small', '      - address: 10.0.0.4:80', ''].join('\n'),
    );
  });

  it('a key left out is removed, a new key is added after the others', () => {
    const after = replaced(({ scheduler: _s, ...item }) => ({ ...item, protocol: 'http' }));
    assert.equal(after, `${TEXT.replace('    scheduler: round-robin   # simple\n', '')}    protocol: http\n`);
  });

  it('a section replaced by setSection keeps its comments too', () => {
    const text = '# DNS\ngslb:\n  listen: [127.0.0.1:53]   # lab\n  ttl: 30   # seconds\n';
    const doc = parseDocument(text);
    setSection(doc, ['gslb'], { listen: ['127.0.0.1:53'], ttl: 60 });
    assert.equal(render(doc, text), text.replace('ttl: 30   # seconds', 'ttl: 60 # seconds'));
  });

  it('render keeps the printer\'s text when putting the file\'s spacing back would change the data', () => {
    const text = 'a: "[ x ]"\n';
    const doc = parseDocument(text);
    doc.set('a', '[x]');
    assert.equal(render(doc, text), 'a: "[x]"\n');
  });
});
