import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument } from '../../src/admin/openapi.ts';
import {
  allowedValues,
  chooseVariant,
  discriminatorOf,
  helpText,
  initialValue,
  jsonPath,
  kindOf,
  localProblem,
  parseInput,
  parseJsonPath,
  placeholderOf,
  removeAt,
  renameKey,
  resolve,
  setIn,
  switchVariant,
  variantLabel,
  variantsOf,
} from '../../console/lib/schema.js';

// The console's forms read exactly this document (GET /api/v1/openapi.json).
const doc = openApiDocument() as any;
const schemas = doc.components.schemas;

test('a virtual service is a choice by protocol: the discriminator and its branches', () => {
  const vs = resolve(schemas.VirtualService, doc);
  assert.equal(kindOf(vs, doc), 'choice');
  const variants = variantsOf(vs, doc)!;
  assert.equal(discriminatorOf(variants), 'protocol');
  assert.deepEqual(variants.map((v) => variantLabel(v, 'protocol')), ['http', 'https', 'tcp', 'udp', 'ftp']);
  assert.equal(chooseVariant(variants, { protocol: 'udp' }), 3);
  assert.equal(chooseVariant(variants, undefined), -1);
  // A new virtual service starts as the first protocol, so the form shows what will be sent.
  assert.deepEqual(initialValue(vs, doc), { protocol: 'http' });
});

test('switching protocol keeps the keys the new branch also has and drops the others', () => {
  const variants = variantsOf(resolve(schemas.VirtualService, doc), doc)!;
  const http = { name: 'web', listen: '127.0.0.1:80', protocol: 'http', pool: 'p', rules: [{ name: 'r' }] };
  const tcp = switchVariant(http, variants[2], doc) as Record<string, unknown>;
  assert.equal(tcp.protocol, 'tcp');
  assert.equal(tcp.name, 'web');
  assert.equal(tcp.listen, '127.0.0.1:80');
  assert.equal(tcp.rules, undefined, 'tcp services have no HTTP rules');
});

test('kinds of the pool form: object, list, enum, number, boolean, map, choice', () => {
  const pool = resolve(schemas.Pool, doc);
  assert.equal(kindOf(pool, doc), 'object');
  const p = pool.properties;
  assert.equal(kindOf(resolve(p.realServers, doc), doc), 'list');
  assert.equal(kindOf(resolve(p.scheduler, doc), doc), 'enum');
  assert.ok(allowedValues(resolve(p.scheduler, doc), doc)!.includes('least-connections'));
  const rs = resolve(resolve(p.realServers, doc).items, doc);
  assert.equal(kindOf(resolve(rs.properties.weight, doc), doc), 'number');
  assert.equal(kindOf(resolve(rs.properties.address, doc), doc), 'string');
  const hc = resolve(p.healthCheck, doc);
  assert.equal(kindOf(resolve(hc.properties.headers, doc), doc), 'map');
  assert.equal(kindOf(resolve(p.persistence, doc), doc), 'choice', 'persistence: off, or its settings');
  assert.equal(kindOf({ type: 'boolean' }, doc), 'boolean');
  assert.equal(kindOf({ type: ['string', 'number'] }, doc), 'string');
  assert.equal(kindOf({}, doc), 'json');
});

test('a rule\'s match resolves through $ref, and its path is a choice of text or settings', () => {
  const rule = resolve(schemas.Rule, doc);
  const match = resolve(rule.properties.match, doc);
  assert.equal(kindOf(match, doc), 'object');
  const path = resolve(match.properties.path, doc);
  const variants = variantsOf(path, doc)!;
  assert.deepEqual(variants.map((v) => variantLabel(v, null)), ['text', 'settings']);
  assert.equal(chooseVariant(variants, '/exact'), 0);
  assert.equal(chooseVariant(variants, { regex: '^/a' }), 1);
});

test('help text: description, allowed values, range and default in words; the default is the placeholder', () => {
  const weight = { type: 'integer', minimum: 0, maximum: 256, default: 1, description: 'Its share.' };
  assert.equal(helpText(weight, doc), 'Its share. From 0 to 256. Default: 1.');
  assert.equal(placeholderOf(weight), 'default: 1');
  assert.equal(placeholderOf({ type: 'string' }), '');
  assert.equal(helpText({ enum: ['a', 'b'], description: 'X.' }, doc), 'X. Allowed: a, b.');
  assert.equal(helpText({ type: 'string', maxLength: 64 }, doc), 'Up to 64 characters.');
});

test('setIn keeps unset optional fields out: clearing the last key removes the object', () => {
  const v1 = setIn({}, ['healthCheck', 'interval'], '5s');
  assert.deepEqual(v1, { healthCheck: { interval: '5s' } });
  const v2 = setIn(v1, ['healthCheck', 'interval'], undefined);
  assert.deepEqual(v2, undefined, 'the whole value emptied');
  assert.deepEqual(setIn({ name: 'a', healthCheck: { interval: '5s' } }, ['healthCheck', 'interval'], undefined), { name: 'a' });
  // Rows keep their indexes: an emptied row stays {}.
  assert.deepEqual(setIn({ rules: [{ name: 'x' }, { name: 'y' }] }, ['rules', 0, 'name'], undefined), { rules: [{}, { name: 'y' }] });
  const original = { a: { b: 1 } };
  setIn(original, ['a', 'b'], 2);
  assert.deepEqual(original, { a: { b: 1 } }, 'immutable');
});

test('removeAt and renameKey', () => {
  assert.deepEqual(removeAt({ rs: [1, 2, 3] }, ['rs'], 1), { rs: [1, 3] });
  assert.deepEqual(removeAt({ name: 'p', rs: [1] }, ['rs'], 0), { name: 'p' });
  assert.deepEqual(renameKey({ h: { a: '1', b: '2' } }, ['h'], 'a', 'c'), { h: { c: '1', b: '2' } });
  assert.deepEqual(Object.keys(renameKey({ h: { a: '1', b: '2' } }, ['h'], 'a', 'c').h), ['c', 'b'], 'order kept');
  assert.deepEqual(renameKey({ h: { a: '1', b: '2' } }, ['h'], 'a', 'b'), { h: { a: '1', b: '2' } }, 'no clobbering');
});

test('parseInput: empty is unset, numbers parse, anything else goes to the server as written', () => {
  assert.equal(parseInput({ type: 'integer' }, ''), undefined);
  assert.equal(parseInput({ type: 'integer' }, '42'), 42);
  assert.equal(parseInput({ type: 'integer' }, '4x'), '4x');
  assert.equal(parseInput({ type: 'string' }, '42'), '42');
  assert.deepEqual(parseInput({}, '{"a":1}'), { a: 1 });
});

test('localProblem: pattern, length and range before the server is asked', () => {
  const name = resolve(schemas.Pool, doc).properties.name;
  assert.equal(localProblem(name, 'web-1'), null);
  assert.match(localProblem(name, 'web pool')!, /expected form/);
  assert.equal(localProblem({ type: 'integer', minimum: 1 }, 0), 'must be at least 1');
  assert.equal(localProblem({ type: 'integer' }, 1.5), 'must be a whole number');
  assert.equal(localProblem({ type: 'integer' }, 'x'), 'must be a number');
  assert.equal(localProblem({ type: 'string', pattern: '(' }, 'x'), null, 'a pattern this engine cannot read is left to the server');
});

test('JSON paths as the API writes them, and back', () => {
  assert.equal(jsonPath([]), '$');
  assert.equal(jsonPath(['rules', 0, 'match', 'path']), '$.rules[0].match.path');
  assert.equal(jsonPath(['headers', 'X-Api-Key']), "$.headers['X-Api-Key']");
  assert.equal(jsonPath(['a', "it's"]), "$.a['it\\'s']");
  for (const path of [['rules', 0, 'match', 'path'], ['headers', 'X-Api-Key'], ['a', "it's"], []]) {
    assert.deepEqual(parseJsonPath(jsonPath(path)), path);
  }
  assert.deepEqual(parseJsonPath('$["x y"][2]'), ['x y', 2]);
  assert.equal(parseJsonPath('rules[0]'), null);
  assert.equal(parseJsonPath('$.a[x]'), null);
});
