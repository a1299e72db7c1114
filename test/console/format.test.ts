import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysLeft, expiryText, formatBytes, formatCount, formatMs, formatRate, formatSeconds, formatTime, timeAgo } from '../../console/lib/format.js';
import { countStates, healthSentence, serverState, siteState } from '../../console/lib/health.js';
import type { ServerLike } from '../../console/lib/health.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');

test('numbers, sizes and durations', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(50 * 1024 * 1024), '50 MB');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatRate(0), '0');
  assert.equal(formatRate(0.4), '0.4');
  assert.equal(formatRate(3), '3');
  assert.equal(formatRate(1234.4), '1,234');
  assert.equal(formatMs(0), '0 ms');
  assert.equal(formatMs(0.42), '0.42 ms');
  assert.equal(formatMs(3.14), '3.1 ms');
  assert.equal(formatMs(250), '250 ms');
  assert.equal(formatMs(1500), '2 s');
  assert.equal(formatSeconds(184), '3 min 4 s');
  assert.equal(formatSeconds(7500), '2 h 5 min');
  assert.equal(formatSeconds(3 * 86400 + 4 * 3600), '3 d 4 h');
  assert.equal(formatBytes(Number.NaN), '–');
});

test('times: ago, in, UTC', () => {
  assert.equal(timeAgo('2025-03-01T11:59:48Z', NOW), '12 s ago');
  assert.equal(timeAgo('2025-03-01T12:00:05Z', NOW), 'in 5 s');
  assert.equal(timeAgo(NOW, NOW), 'just now');
  assert.equal(timeAgo('not a time', NOW), 'never');
  assert.equal(formatTime('2025-03-01T11:59:48.123Z'), '2025-03-01 11:59:48 UTC');
});

test('certificate expiry in days', () => {
  assert.equal(daysLeft('2025-04-10T12:00:00Z', NOW), 40);
  assert.equal(expiryText('2025-04-10T12:00:00Z', NOW), '40 days left');
  assert.equal(expiryText('2025-03-02T13:00:00Z', NOW), '1 day left');
  assert.equal(expiryText('2025-03-01T18:00:00Z', NOW), 'expires today');
  assert.equal(expiryText('2025-03-01T06:00:00Z', NOW), 'expired today');
  assert.equal(expiryText('2025-02-26T11:00:00Z', NOW), 'expired 3 days ago');
  assert.equal(expiryText('', NOW), 'no expiry known');
});

const health = (up: boolean, reason: string) => ({
  up,
  reason,
  since: '2025-03-01T11:58:00Z',
  check: 'http GET / to 127.0.0.1:9002',
  lastCheck: { at: '2025-03-01T11:59:58Z', ok: up, latencyMs: 0.8, reason },
  checks: { passed: 10, failed: 3 },
});

test('a real server\'s state word: disabled and drain (what the operator asked) before down', () => {
  const up = health(true, 'HTTP 200');
  const down = health(false, 'connect ECONNREFUSED');
  assert.deepEqual(serverState({ state: 'enabled', health: up }), { word: 'up', tone: 'up', label: 'up' });
  assert.equal(serverState({ state: 'enabled', health: down }).word, 'down');
  assert.equal(serverState({ state: 'enabled', health: up, ejected: true }).label, 'down (ejected by outlier detection)');
  assert.deepEqual(serverState({ state: 'drain', health: up }), { word: 'draining', tone: 'drain', label: 'draining' });
  assert.equal(serverState({ state: 'drain', health: down }).label, 'draining (down)');
  assert.equal(serverState({ state: 'disabled', health: down }).label, 'disabled (also down)');
  const servers: ServerLike[] = [{ state: 'enabled', health: up }, { state: 'enabled', health: down }, { state: 'drain', health: up }, { state: 'disabled', health: up }, { state: 'enabled', health: up }];
  assert.deepEqual(countStates(servers), { up: 2, down: 1, draining: 1, disabled: 1 });
});

test('the reason and the last check in words', () => {
  assert.equal(
    healthSentence(health(false, 'connect ECONNREFUSED 127.0.0.1:9002'), NOW),
    'Down since 2 min ago: connect ECONNREFUSED 127.0.0.1:9002. Last check 2 s ago (2025-03-01 11:59:58 UTC), failed in 0.80 ms. Check: http GET / to 127.0.0.1:9002. 10 passed, 3 failed.',
  );
  assert.equal(healthSentence({ up: true, reason: 'not checked yet', lastCheck: null }, NOW), 'Up: not checked yet. Not checked yet.');
  assert.equal(healthSentence(undefined, NOW), 'No health information.');
});

test('a GSLB site\'s state word', () => {
  assert.equal(siteState({ up: true, checked: true, held: false, disabled: false }).word, 'up');
  assert.equal(siteState({ up: false, checked: true, held: true, disabled: false }).label, 'down, held for manual recovery');
  assert.equal(siteState({ up: true, checked: true, held: false, disabled: true }).word, 'disabled');
  assert.equal(siteState({ up: true, checked: false, held: false, disabled: false }).label, 'up (not checked yet)');
});
