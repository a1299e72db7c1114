/**
 * A stand-in for an ACME CA in the hermetic tests (pebble runs in interop/acme.test.ts): it
 * issues real certificates (a root and a leaf per order, @peculiar/x509 on WebCrypto) with the
 * lifetime a test asks for, records every order and revocation, and fails when told to.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { AcmeIssuer, DirectorySettings, Issued, OrderRequest } from '../../src/acme/issuer.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function keyPair(): Promise<Keys> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as Keys;
}

async function rsaKeyPair(): Promise<Keys> {
  const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  return (await webcrypto.subtle.generateKey(rsa, true, ['sign', 'verify'])) as unknown as Keys;
}

async function keyPem(keys: Keys): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

export class StubCa implements AcmeIssuer {
  readonly orders: OrderRequest[] = [];
  readonly revocations: Array<{ settings: DirectorySettings; chainPem: string; reason: number }> = [];
  /** Lifetime of the certificates issued from now on. */
  lifetimeMs = 90 * 86_400_000;
  /** The clock certificates are dated by (the test's injected one). */
  now: () => number = Date.now;
  /** Set to make the next orders fail with this message. */
  failWith: string | null = null;
  /** The next order (only) fails with this message. */
  failOnce: string | null = null;
  revokeFailWith: string | null = null;
  /** Resolves each order only when the test says so (null: at once). */
  gate: Promise<void> | null = null;
  #root: Promise<{ keys: Keys; cert: x509.X509Certificate }> | null = null;

  async issue(request: OrderRequest): Promise<Issued> {
    this.orders.push(request);
    if (this.gate !== null) await this.gate;
    if (this.failWith !== null) throw new Error(this.failWith);
    const once = this.failOnce;
    this.failOnce = null;
    if (once !== null) throw new Error(once);
    return this.certificateFor(request.name, request.keyType);
  }

  async revoke(settings: DirectorySettings, chainPem: string, reason: number): Promise<void> {
    this.revocations.push({ settings, chainPem, reason });
    if (this.revokeFailWith !== null) throw new Error(this.revokeFailWith);
  }

  /** A leaf for `name` signed by the stub root, valid from now for lifetimeMs; with its chain. */
  async certificateFor(name: string, keyType: 'ecdsa' | 'rsa' = 'ecdsa'): Promise<Issued> {
    const root = await this.#rootCa();
    const keys = keyType === 'rsa' ? await rsaKeyPair() : await keyPair();
    const notBefore = new Date(this.now());
    const leaf = await x509.X509CertificateGenerator.create({
      subject: `CN=${name}`,
      issuer: root.cert.subject,
      notBefore,
      notAfter: new Date(notBefore.getTime() + this.lifetimeMs),
      signingAlgorithm: EC,
      publicKey: keys.publicKey,
      signingKey: root.keys.privateKey,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]), new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    return { keyPem: await keyPem(keys), chainPem: `${leaf.toString('pem')}\n${root.cert.toString('pem')}\n` };
  }

  #rootCa(): Promise<{ keys: Keys; cert: x509.X509Certificate }> {
    this.#root ??= (async () => {
      const keys = await keyPair();
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        name: 'CN=Stub ACME Root',
        notBefore: new Date(Date.UTC(2000, 0, 1)),
        notAfter: new Date(Date.UTC(2099, 0, 1)),
        signingAlgorithm: EC,
        keys,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
      });
      return { keys, cert };
    })();
    return this.#root;
  }
}

/** A clock the test moves by hand; timers fire when it passes their time. */
export class ManualClock {
  #now: number;
  #timers = new Map<number, { at: number; run: () => void }>();
  #next = 1;

  constructor(start: number) {
    this.#now = start;
  }

  now = (): number => this.#now;

  setTimeout = (run: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, run });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  /** Pending timers' due times, earliest first. */
  get pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /**
   * Move to `to` (ms since the epoch) as time would pass: each timer due by then fires at its own
   * time, in order, and `settle` runs after each (the work it started finishes before the clock
   * moves on, and the timers that work sets fire too if they fall before `to`).
   */
  async advanceTo(to: number, settle: () => Promise<void> = async () => {}): Promise<void> {
    for (;;) {
      let first: [number, { at: number; run: () => void }] | null = null;
      for (const entry of this.#timers) if (entry[1].at <= to && (first === null || entry[1].at < first[1].at)) first = entry;
      if (first === null) break;
      this.#now = Math.max(this.#now, first[1].at);
      this.#timers.delete(first[0]);
      first[1].run();
      await settle();
    }
    this.#now = Math.max(this.#now, to);
  }

  advance(ms: number, settle?: () => Promise<void>): Promise<void> {
    return this.advanceTo(this.#now + ms, settle);
  }
}
