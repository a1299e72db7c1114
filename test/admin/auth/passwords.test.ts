// Password hashing (scrypt) and the password policy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPasswordPolicy, DUMMY_HASH, hashPassword, MIN_PASSWORD_LENGTH, needsRehash, passwordProblem, verifyPassword } from '../../../src/admin/auth/passwords.ts';
import { ErrorCode, FulcrumError } from '../../../src/errors.ts';

describe('password hashing', () => {
  it('stores a self-describing scrypt hash with a fresh salt, and verifies only the right password', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    const [scheme, n, r, p, salt, hash, ...rest] = first.split('$');
    assert.deepEqual([scheme, n, r, p, rest.length], ['scrypt', '32768', '8', '1', 0]);
    assert.equal(Buffer.from(salt!, 'base64').length, 32);
    assert.equal(Buffer.from(hash!, 'base64').length, 64);
    assert.notEqual(first, second, 'a new salt each time');
    assert.equal(await verifyPassword('correct horse battery staple', first), true);
    assert.equal(await verifyPassword('correct horse battery staple', second), true);
    assert.equal(await verifyPassword('correct horse battery stapl', first), false);
    assert.equal(await verifyPassword('', first), false);
  });

  it('treats the composed and decomposed forms of an accented character as one password', async () => {
    const stored = await hashPassword('caf\u00e9 au lait tous les jours');
    assert.equal(await verifyPassword('cafe\u0301 au lait tous les jours', stored), true);
  });

  it('does not block the event loop while hashing', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await Promise.all([hashPassword('a password for the thread pool'), hashPassword('another one for the thread pool')]);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'timers ran while scrypt worked');
  });

  it('refuses malformed or absurdly expensive stored hashes without throwing', async () => {
    const good = await hashPassword('twelve chars ok');
    const parts = good.split('$');
    const withN = (n: string): string => [parts[0], n, ...parts.slice(2)].join('$');
    assert.equal(await verifyPassword('twelve chars ok', withN('33554432')), false, 'N=2^25 would need 4 GiB');
    assert.equal(await verifyPassword('twelve chars ok', withN('1000')), false, 'N must be a power of two');
    assert.equal(await verifyPassword('twelve chars ok', 'bcrypt$whatever'), false);
    assert.equal(await verifyPassword('twelve chars ok', ''), false);
  });

  it('says when a hash was made with other parameters', async () => {
    assert.equal(needsRehash(await hashPassword('twelve chars ok')), false);
    assert.equal(needsRehash(DUMMY_HASH), false, 'the dummy costs what a real hash costs');
    const parts = DUMMY_HASH.split('$');
    assert.equal(needsRehash([parts[0], '16384', ...parts.slice(2)].join('$')), true);
  });
});

describe('password policy', () => {
  it(`needs at least ${MIN_PASSWORD_LENGTH} characters and says so`, () => {
    assert.equal(passwordProblem(''), 'the password is empty');
    assert.match(passwordProblem('elevenchars') ?? '', /has 11 characters; use at least 12/);
    assert.equal(passwordProblem('twelve chars'), null);
    assert.match(passwordProblem('\u{1F511}'.repeat(11)) ?? '', /has 11 characters/, 'characters, not UTF-16 units');
    assert.match(passwordProblem('x'.repeat(1025)) ?? '', /at most 1024/);
    assert.throws(() => checkPasswordPolicy('short'), (error: unknown) => error instanceof FulcrumError && error.code === ErrorCode.ADMIN_BAD_REQUEST && /at least 12/.test(error.message));
  });
});
