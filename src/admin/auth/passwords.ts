/**
 * Password hashing for admin users: scrypt (node:crypto, no native package), run on libuv's
 * thread pool so a login never blocks the event loop, stored as a self-describing string
 * `scrypt$N$r$p$salt_b64$hash_b64` so the cost can be raised later without breaking old hashes
 * (a successful login rehashes: see needsRehash).
 *
 * Cost: N=2^15, r=8, p=1 is the OWASP minimum for scrypt: 32 MiB and about 50-100 ms per hash on
 * one core, which makes an offline guess that expensive while a login stays quick.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ErrorCode, FulcrumError } from '../../errors.ts';

const N = 2 ** 15;
const R = 8;
const P = 1;
const SALT_BYTES = 32;
const KEY_BYTES = 64;
/** scrypt needs 128 * N * r bytes (32 MiB here); Node's default maxmem (32 MiB) is just short of that with OpenSSL's overhead, so allow twice. */
const maxmemFor = (n: number, r: number): number => 2 * 128 * n * r;

/** Hashes whose parameters are beyond these were not written by Fulcrum: refuse them rather than spend 4 GiB on a tampered backup. */
const MAX_N = 2 ** 20;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const MAX_P = 16;

export const MIN_PASSWORD_LENGTH = 12;
/** Long passphrases are welcome; a megabyte is not a password. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * A hash of a random password nobody knows, with today's parameters: a login for a user that does
 * not exist is checked against it, so that it takes as long as one for a user that does.
 */
export const DUMMY_HASH = 'scrypt$32768$8$1$4cLSjLaOfTvCthKHMNUlviNuSy0gsfuY/ph6IeZ9mIU=$ELmpTUQupxAOkscKvcNByfNSvIkDjY8VRY8Q9ciqHdVlXM6B7sHMqn7e65qHgqwr8SC7ok9rc9zy7hCGJA9WAw==';

/** What is wrong with `password` as a new password, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length === 0) return 'the password is empty';
  if (length < MIN_PASSWORD_LENGTH) return `the password has ${length} ${length === 1 ? 'character' : 'characters'}; use at least ${MIN_PASSWORD_LENGTH} (a passphrase of a few words is easiest)`;
  if (length > MAX_PASSWORD_LENGTH) return `the password has ${length} characters; at most ${MAX_PASSWORD_LENGTH} are allowed`;
  return null;
}

/** Throw FulcrumError(ADMIN_BAD_REQUEST) when `password` breaks the policy. */
export function checkPasswordPolicy(password: string): void {
  const problem = passwordProblem(password);
  if (problem !== null) throw new FulcrumError(ErrorCode.ADMIN_BAD_REQUEST, problem);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(normalise(password), salt, KEY_BYTES, { N, r: R, p: P, maxmem: maxmemFor(N, R) });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Does `password` match `stored`? False (never a throw) for a hash this module cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === null || [...password].length > MAX_PASSWORD_LENGTH) return false;
  const key = await derive(normalise(password), parsed.salt, parsed.hash.length, { N: parsed.n, r: parsed.r, p: parsed.p, maxmem: maxmemFor(parsed.n, parsed.r) });
  return timingSafeEqual(key, parsed.hash);
}

/** Was `stored` made with other parameters than today's (so the next successful login should rehash it)? */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return parsed === null || parsed.n !== N || parsed.r !== R || parsed.p !== P || parsed.salt.length !== SALT_BYTES || parsed.hash.length !== KEY_BYTES;
}

interface ParsedHash {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [n, r, p] = parts.slice(1, 4).map((text) => (/^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : 0)) as [number, number, number];
  const powerOfTwo = n > 1 && (n & (n - 1)) === 0;
  if (!powerOfTwo || n > MAX_N || r < 1 || 128 * n * r > MAX_MEMORY_BYTES || p < 1 || p > MAX_P) return null;
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 16 || hash.length < 32) return null;
  return { n, r, p, salt, hash };
}

/** One password typed as "é" (one code point) or "é" (e + accent, as some keyboards send it) is the same password. */
function normalise(password: string): string {
  return password.normalize('NFC');
}

function derive(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}
