/**
 * What rules and access lists read of an exchange (src/rules MatchInput), computed lazily and at
 * most once per exchange: a rule set that looks at the host only never makes the path string,
 * and one that never asks for a country never touches the GeoIP database. Valid while the
 * exchange's head is parsed (the request-header phase).
 */
import type { Exchange } from '../exchange/exchange.ts';
import { equalsLower } from '../http/chars.ts';
import type { GeoIpLookup } from '../gslb/geoip.ts';
import { parseIpInto, type AddressFamily } from '../ip/bytes.ts';
import { cookieValue } from '../persistence/request-keys.ts';
import type { MatchInput } from '../rules/types.ts';
import type { ClientCertificate } from '../tls/client-certificate.ts';
import { normalizePath } from './normalize-path.ts';

/** Where countries come from: a GeoIP database (src/gslb/geoip.ts), or none. */
export interface CountrySource {
  lookup(family: AddressFamily, bytes: Uint8Array): GeoIpLookup | null;
}

const QUESTION = 0x3f;
const HASH = 0x23;
/** Cookie names as bytes, made once per name (a config has a handful). */
const COOKIE_NAMES = new Map<string, Buffer>();

export class ExchangeMatchInput implements MatchInput {
  readonly #ex: Exchange;
  readonly #countries: CountrySource | null;
  #host: string | null = null;
  #path: string | null = null;
  #query: string | null = null;
  #family: 0 | 4 | 6 | -1 = -1;
  #bytes = new Uint8Array(16);
  #country: string | null | undefined = undefined;

  constructor(ex: Exchange, countries: CountrySource | null) {
    this.#ex = ex;
    this.#countries = countries;
  }

  get method(): string {
    return this.#ex.method;
  }

  get host(): string {
    if (this.#host === null) {
      const head = this.#ex.head;
      this.#host = head.hostStart < 0 ? '' : head.buf.toString('latin1', head.hostStart, head.hostNameEnd).toLowerCase();
    }
    return this.#host;
  }

  /** The path as sent (without query), before normalisation. */
  get rawPath(): string {
    const head = this.#ex.head;
    const buf = head.buf;
    let end = head.originStart;
    while (end < head.targetEnd && buf[end] !== QUESTION && buf[end] !== HASH) end++;
    if (end === head.originStart) return head.method === 'OPTIONS' && head.originStart === head.targetEnd ? '*' : '/';
    const path = buf.toString('latin1', head.originStart, end);
    return path.charCodeAt(0) === 0x2f || path === '*' ? path : `/${path}`;
  }

  get path(): string {
    this.#path ??= normalizePath(this.rawPath);
    return this.#path;
  }

  get query(): string {
    if (this.#query === null) {
      const head = this.#ex.head;
      const buf = head.buf;
      let q = head.originStart;
      while (q < head.targetEnd && buf[q] !== QUESTION && buf[q] !== HASH) q++;
      if (q === head.targetEnd || buf[q] !== QUESTION) this.#query = '';
      else {
        let end = q + 1;
        while (end < head.targetEnd && buf[end] !== HASH) end++;
        this.#query = buf.toString('latin1', q + 1, end);
      }
    }
    return this.#query;
  }

  header(lowerName: string): string | null {
    const fields = this.#ex.fields;
    if (fields === null) return null;
    const buf = this.#ex.head.buf;
    const length = lowerName.length;
    for (let i = 0; i < fields.count; i++) {
      const start = fields.lineStart[i]!;
      if (fields.nameEnd[i]! - start !== length || !equalsLower(buf, start, length, lowerName)) continue;
      return buf.toString('latin1', fields.valueStart[i]!, fields.valueEnd[i]!);
    }
    return null;
  }

  cookie(name: string): string | null {
    const fields = this.#ex.fields;
    if (fields === null) return null;
    let bytes = COOKIE_NAMES.get(name);
    if (bytes === undefined) {
      bytes = Buffer.from(name, 'latin1');
      if (COOKIE_NAMES.size < 1024) COOKIE_NAMES.set(name, bytes);
    }
    return cookieValue(this.#ex.head.buf, fields, bytes, 0, null, '');
  }

  get clientFamily(): 0 | 4 | 6 {
    if (this.#family === -1) this.#family = parseIpInto(this.#ex.clientAddress, this.#bytes);
    return this.#family;
  }

  get clientBytes(): Uint8Array {
    if (this.#family === -1) this.#family = parseIpInto(this.#ex.clientAddress, this.#bytes);
    return this.#family === 4 ? this.#bytes.subarray(0, 4) : this.#bytes;
  }

  clientCertificate(): ClientCertificate | null {
    return this.#ex.downstream.clientCertificate;
  }

  country(): string | null {
    if (this.#country === undefined) {
      const family = this.clientFamily;
      const found = family === 0 || this.#countries === null ? null : this.#countries.lookup(family, this.#bytes);
      this.#country = found?.place?.country ?? null;
    }
    return this.#country;
  }
}
