import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestField, normalizeProblem, placeProblems } from '../../console/lib/problems.js';

const FIELDS = ['$', '$.name', '$.rules', '$.rules[0]', '$.rules[0].name', '$.rules[0].match', '$.rules[0].match.path', '$.rules[0].match.path.regex', "$.headers['X-Key']"];

test('a problem goes to the field its JSON path names', () => {
  const { byField, unplaced } = placeProblems([{ path: '$.rules[0].match.path.regex', message: 'is not a valid regular expression' }], FIELDS);
  assert.deepEqual([...byField], [['$.rules[0].match.path.regex', ['is not a valid regular expression']]]);
  assert.deepEqual(unplaced, []);
});

test('a whole-config path is read relative to the item edited', () => {
  assert.equal(nearestField(['virtualServices', 2, 'rules', 0, 'name'], new Set(FIELDS)), '$.rules[0].name');
  assert.equal(nearestField(['pools', 0, 'realServers', 1, 'weight'], new Set(['$.weight'])), '$.weight');
  assert.equal(nearestField(['gslb', 'fqdns', 0, 'sites', 1, 'address'], new Set(['$.address'])), '$.address');
});

test('a problem below any field shown goes to the nearest field above it', () => {
  assert.equal(nearestField(['rules', 0, 'match', 'header', 'name'], new Set(FIELDS)), '$.rules[0].match');
  assert.equal(nearestField(['unknownKey'], new Set(FIELDS)), null);
});

test('a problem no field holds stays at the top of the form, with its path', () => {
  const { byField, unplaced } = placeProblems([{ path: '$.pools[3].name', message: 'duplicate' }, 'the config has no virtual service'], ['$.listen']);
  assert.equal(byField.size, 0);
  assert.deepEqual(unplaced, ['$.pools[3].name: duplicate', 'the config has no virtual service']);
});

test('problems as strings ("$.path: message") and with allowed values and suggestions', () => {
  assert.deepEqual(normalizeProblem('$.rules[0].name: required'), { path: ['rules', 0, 'name'], message: 'required' });
  assert.deepEqual(normalizeProblem({ path: "$.headers['X-Key']", message: 'bad', allowed: 'a, b' }), { path: ['headers', 'X-Key'], message: 'bad (allowed: a, b)' });
  assert.deepEqual(normalizeProblem({ path: '$.scheduler', message: 'unknown', allowed: ['rr', 'lc'], suggestion: 'rr' }), { path: ['scheduler'], message: 'unknown (allowed: rr, lc); did you mean rr?' });
  assert.deepEqual(normalizeProblem({ path: '$.x', message: 'is one of a, b', allowed: 'a, b' }).message, 'is one of a, b', 'no repetition');
  const { byField } = placeProblems([{ path: "$.headers['X-Key']", message: 'bad' }, { path: '$.name', message: 'one' }, { path: '$.name', message: 'two' }], FIELDS);
  assert.deepEqual(byField.get("$.headers['X-Key']"), ['bad']);
  assert.deepEqual(byField.get('$.name'), ['one', 'two']);
});
