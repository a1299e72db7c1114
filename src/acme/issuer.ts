/**
 * One ACME order, and one revocation, with acme-client (RFC 8555): the protocol steps and
 * nothing else. The manager (manager.ts) decides when; the storage folder (storage.ts) is where
 * challenges are published for the workers to answer.
 *
 * The steps are acme-client's low-level calls rather than its `auto()`: auto() first checks a
 * challenge itself by resolving the name and fetching it, which answers nothing useful behind
 * NAT, split DNS or a test resolver, and it writes no files; here a challenge is published to
 * the storage folder, left to settle (SETTLE_MS) and handed to the CA.
 *
 * acme-client talks through one axios instance for the whole process (the supervisor). A
 * directory's own CA (`acme.ca`: pebble's, a private ACME CA's) is trusted by an https.Agent
 * chosen per request by the URL's origin, so two directories with different CAs never mix.
 */
import { link, readFile, unlink } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { randomBytes } from 'node:crypto';
import acme from 'acme-client';
import axios from 'axios';
import type { AcmeChallengeType, AcmeKeyType } from '../config/acme.ts';
import { writeFileAtomic } from '../admin/atomic-write.ts';
import { isCertificate, pemBlocks } from '../tls/pem.ts';
import { accountFolder, ensureFolder, publishAlpnChallenge, publishHttpChallenge } from './storage.ts';

/**
 * How long a published challenge is left before the CA is told to check it: longer than a
 * worker's memory of a miss (challenge-store.ts, MISS_TTL_MS), so that no worker of any node
 * still remembers "no such challenge" from a probe made just before it was written.
 */
export const SETTLE_MS = 1_500;
/** Any one request to the directory; acme-client has no timeout of its own. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * acme-client polls a challenge and an order for its outcome with back-off: here from 1 s to
 * 30 s, 10 polls (a few minutes at most). Let's Encrypt validates within seconds.
 */
const POLL = { backoffAttempts: 10, backoffMin: 1_000, backoffMax: 30_000 };
/** RFC 5280 5.3.1: cessationOfOperation, for a name that left the config. */
export const REVOKE_REASON_REMOVED = 5;

export interface DirectorySettings {
  directory: string;
  /** PEM file trusted for the directory's HTTPS, besides the public CAs. */
  ca: string | undefined;
  storage: string;
  email?: string | undefined;
}

export interface OrderRequest extends DirectorySettings {
  name: string;
  keyType: AcmeKeyType;
  challenge: AcmeChallengeType;
}

export interface Issued {
  keyPem: string;
  /** The certificate, then its chain, as the CA sent them. */
  chainPem: string;
}

/** What the manager needs of a CA; a stub stands in for it in the hermetic tests. */
export interface AcmeIssuer {
  issue(request: OrderRequest): Promise<Issued>;
  revoke(settings: DirectorySettings, chainPem: string, reason: number): Promise<void>;
}

export interface AcmeClientIssuerOptions {
  settleMs?: number;
  /** acme-client's polling (tests against pebble shorten it). */
  poll?: Partial<typeof POLL>;
}

export class AcmeClientIssuer implements AcmeIssuer {
  readonly #clients = new Map<string, Promise<acme.Client>>();
  readonly #settleMs: number;
  readonly #poll: typeof POLL;

  constructor(options: AcmeClientIssuerOptions = {}) {
    this.#settleMs = options.settleMs ?? SETTLE_MS;
    this.#poll = { ...POLL, ...options.poll };
  }

  async issue(request: OrderRequest): Promise<Issued> {
    const { name, challenge: type } = request;
    const client = await step('account', () => this.#client(request));
    const key = await (request.keyType === 'rsa' ? acme.crypto.createPrivateRsaKey(2048) : acme.crypto.createPrivateEcdsaKey('P-256'));
    const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, key);
    const order = await step('new order', () => client.createOrder({ identifiers: [{ type: 'dns', value: name }] }));
    const authorizations = await step('authorizations', () => client.getAuthorizations(order));
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue; // the CA remembers an earlier validation
      const challenge = authz.challenges.find((c) => c.type === type);
      if (challenge === undefined) {
        throw new Error(`the CA offers no ${type} challenge for ${name} (it offers ${authz.challenges.map((c) => c.type).join(', ') || 'none'}): choose one of those with acme.challenge`);
      }
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      const withdraw = type === 'http-01' ? await publishHttpChallenge(request.storage, challenge.token, { name, keyAuthorization }) : await this.#publishAlpn(request, authz, keyAuthorization);
      try {
        await delay(this.#settleMs);
        await step(`${type} challenge`, async () => {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        });
      } finally {
        await withdraw();
      }
    }
    await step('finalize', () => client.finalizeOrder(order, csr));
    const chainPem = await step('download', () => client.getCertificate(order));
    return { keyPem: key.toString(), chainPem };
  }

  async revoke(settings: DirectorySettings, chainPem: string, reason: number): Promise<void> {
    const leaf = pemBlocks(chainPem).find(isCertificate);
    if (leaf === undefined) throw new Error('no certificate to revoke');
    const client = await step('account', () => this.#client(settings));
    await step('revoke', () => client.revokeCertificate(leaf.text, { reason }));
  }

  async #publishAlpn(request: OrderRequest, authz: acme.Authorization, keyAuthorization: string): Promise<() => Promise<void>> {
    // ECDSA: an RSA key (acme-client's default) costs 50-200 ms to make for a certificate used once.
    const alpnKey = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, certificate] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, alpnKey);
    return publishAlpnChallenge(request.storage, request.name, alpnKey.toString(), certificate.toString());
  }

  /** One account per directory, created (or found: RFC 8555 7.3.1 answers 200 for a known key) once per process. */
  #client(settings: DirectorySettings): Promise<acme.Client> {
    const key = `${settings.directory}\n${settings.storage}\n${settings.email ?? ''}`;
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = this.#newClient(settings);
      this.#clients.set(key, client);
      // A failure (the CA unreachable) is not remembered: the next attempt tries again.
      client.catch(() => this.#clients.delete(key));
    }
    return client;
  }

  async #newClient(settings: DirectorySettings): Promise<acme.Client> {
    if (settings.ca !== undefined) trustDirectory(settings.directory, await readFile(settings.ca, 'utf8'));
    const accountKey = await accountKeyOf(accountFolder(settings.storage, settings.directory));
    const client = new acme.Client({ directoryUrl: settings.directory, accountKey, ...this.#poll });
    await client.createAccount({ termsOfServiceAgreed: true, ...(settings.email !== undefined ? { contact: [`mailto:${settings.email}`] } : {}) });
    return client;
  }
}

/** The account key of a directory: read, or made once. Two nodes making it at once agree on the first one linked. */
async function accountKeyOf(folder: string): Promise<Buffer> {
  const file = join(folder, 'account.key');
  const existing = await readFile(file).catch(() => null);
  if (existing !== null) return existing;
  await ensureFolder(folder);
  const key = await acme.crypto.createPrivateEcdsaKey('P-256');
  const temp = join(folder, `.account.key.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFileAtomic(temp, key.toString(), { mode: 0o600 });
  try {
    // link() fails with EEXIST if another node got there first: then theirs is the account.
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  return readFile(file);
}

const agents = new Map<string, Agent>();
let interceptorInstalled = false;

/** Trust `caPem` (besides the public roots) for requests to the directory's origin. */
function trustDirectory(directory: string, caPem: string): void {
  agents.set(new URL(directory).origin, new Agent({ keepAlive: true, ca: [...rootCertificates, caPem] }));
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    if (config.url !== undefined) {
      const agent = agents.get(new URL(config.url).origin);
      if (agent !== undefined) config.httpsAgent = agent;
    }
    return config;
  });
}

acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
// No retries inside a request: acme-client would wait 5, 10, 15, 20 and 25 s (or a rate limit's
// Retry-After, up to hours) inside one order, holding up every other name's; the manager's
// back-off (1 minute, doubling) retries the whole order instead, and says so in the status.
// Its badNonce retries (RFC 8555 6.5) are apart from these and stay.
(acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
// acme-client 5.4.0's response interceptor reads `error.response.config` when it gives up on a
// request that got no response at all (refused, reset, timed out, a TLS error): a TypeError
// ("Cannot read properties of undefined (reading 'config')") replaces the real reason. It lets an
// error without `config` through untouched, so network errors leave the adapter without one.
const httpAdapter = axios.getAdapter('http');
acme.axios.defaults.adapter = (config) =>
  httpAdapter(config).catch((error: unknown) => {
    if ((error as { response?: unknown }).response !== undefined) throw error;
    const { code, message } = error as { code?: string; message?: string };
    throw Object.assign(new Error(message ?? String(error), { cause: error }), code === undefined ? {} : { code });
  });

/** Run one protocol step, naming it in the error: "new order: ECONNREFUSED ...". */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${what}: ${describeError(error)}`, { cause: error });
  }
}

/** An ACME problem's detail, or the network error's code and message, on one line. */
export function describeError(error: unknown): string {
  const err = error as { code?: string; message?: string; response?: { status?: number; data?: { type?: string; detail?: string } } };
  const problem = err.response?.data;
  if (problem?.detail !== undefined) return `${problem.detail}${problem.type !== undefined ? ` (${problem.type})` : ''}`;
  const message = (err.message ?? String(error)).replace(/\s+/g, ' ').trim();
  return err.code !== undefined && !message.includes(err.code) ? `${err.code}: ${message}` : message;
}

function delay(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
