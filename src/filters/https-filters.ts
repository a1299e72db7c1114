/**
 * The two filters HTTPS adds to a front end: the redirect of a plain-HTTP service to HTTPS
 * (`redirectToHttps`), and HSTS on an https service's responses (`tls.hsts`).
 */
import type { RedirectToHttpsConfig, TlsConfig } from '../config/tls.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus, type HttpFilter } from '../exchange/filter.ts';
import { editsThen, type HeaderEdits, type MutableHeaders } from '../exchange/headers.ts';
import { Termination } from '../exchange/termination.ts';

const NO_BODY = Buffer.alloc(0);

/** Every request gets a redirect to the same host, path and query over HTTPS (HAProxy's `redirect scheme https`). */
export class RedirectToHttpsFilter implements HttpFilter {
  readonly name = 'redirect-to-https';
  readonly #portSuffix: string;
  readonly #status: number;

  constructor(config: RedirectToHttpsConfig) {
    this.#portSuffix = config.port === 443 ? '' : `:${config.port}`;
    this.#status = config.status;
  }

  onRequestHeaders(ex: Exchange): FilterStatus {
    const input = ex.input();
    // An HTTP/1.0 request may name no host; "https:///a" would send the client nowhere.
    if (input.host === '') {
      ex.fail(Termination.CLIENT_BAD_REQUEST, 'redirectToHttps needs the Host the client asked for, and the request names none', false, 400);
      return FilterStatus.STOP;
    }
    const query = input.query;
    // OPTIONS * asks about the server, not a resource: its HTTPS counterpart is the root.
    const path = input.path === '*' ? '/' : input.path;
    const location = `https://${input.host}${this.#portSuffix}${path}${query === '' ? '' : `?${query}`}`;
    ex.answer(this.#status, [['Location', location]], NO_BODY, Termination.REDIRECTED);
    return FilterStatus.STOP;
  }
}

/** Strict-Transport-Security on every response from a real server (it replaces the server's own). */
export class HstsFilter implements HttpFilter {
  readonly name = 'hsts';
  readonly #edit: HeaderEdits;

  constructor(hsts: NonNullable<TlsConfig['hsts']>) {
    const value = `max-age=${hsts.maxAge}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
    this.#edit = { apply: (headers: MutableHeaders) => headers.set('Strict-Transport-Security', value) };
  }

  onResponseHeaders(ex: Exchange): FilterStatus {
    ex.responseEdits = editsThen(ex.responseEdits, this.#edit);
    return FilterStatus.CONTINUE;
  }
}
