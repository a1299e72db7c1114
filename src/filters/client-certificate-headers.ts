/**
 * The client certificate's facts (mTLS) for the real servers, under the names HAProxy and nginx
 * users already read: X-SSL-Client-Verify (nginx's $ssl_client_verify: SUCCESS, FAILED:reason,
 * NONE), -S-DN and -I-DN (RFC 4514), -Serial (hex) and -Fingerprint (SHA-256, hex). Only on an
 * https service whose clientAuth is not none.
 *
 * The client's own fields of these names are removed first, whatever it sent: a real server that
 * trusts X-SSL-Client-Verify must never see one a client wrote. Run in the route phase, after the
 * rules (and their asynchronous limits) have set their edits, so the front end has the last word,
 * as HSTS has on responses.
 */
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus, type HttpFilter } from '../exchange/filter.ts';
import { editsThen, type HeaderEdits, type MutableHeaders } from '../exchange/headers.ts';
import { CLIENT_CERTIFICATE_HEADERS, NO_CLIENT_CERTIFICATE, verifyHeaderValue, type ClientCertificate } from '../tls/client-certificate.ts';

function applyFacts(headers: MutableHeaders, facts: ClientCertificate): void {
  for (const name of CLIENT_CERTIFICATE_HEADERS) headers.remove(name);
  headers.add('X-SSL-Client-Verify', verifyHeaderValue(facts));
  if (!facts.present) return;
  headers.add('X-SSL-Client-S-DN', facts.subject);
  headers.add('X-SSL-Client-I-DN', facts.issuer);
  headers.add('X-SSL-Client-Serial', facts.serial);
  headers.add('X-SSL-Client-Fingerprint', facts.fingerprint256);
}

export class ClientCertificateHeadersFilter implements HttpFilter {
  readonly name = 'client-certificate-headers';
  /** One edit per connection's facts, made on its first request (facts are per connection). */
  readonly #edits = new WeakMap<ClientCertificate, HeaderEdits>();

  onRoute(ex: Exchange): FilterStatus {
    const facts = ex.downstream.clientCertificate ?? NO_CLIENT_CERTIFICATE;
    let edit = this.#edits.get(facts);
    if (edit === undefined) this.#edits.set(facts, (edit = { apply: (headers) => applyFacts(headers, facts) }));
    ex.requestEdits = editsThen(ex.requestEdits, edit);
    return FilterStatus.CONTINUE;
  }
}
