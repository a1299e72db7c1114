/**
 * A tiny OCSP responder for the tests: real HTTP on 127.0.0.1 port 0, answering each POSTed
 * request with a response signed live (src/tls/der.ts's writer, node:crypto's sign), good,
 * revoked or unknown, with the dates asked for; or failing (HTTP 500), or never answering.
 * `buildResponse` makes the same responses without a socket, for the checker's and the
 * manager's tests.
 */
import { createHash, sign } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bitString, bitStringBytes, children, contextTag, explicit, generalizedTimeElement, octetString, oid, readWhole, sequence, smallIntegerElement, Tag, tlv } from '../../src/tls/der.ts';
import type { Issued } from './ocsp-pki.ts';

export interface ResponseOptions {
  status?: 'good' | 'revoked' | 'unknown';
  /** Default: a minute ago. */
  thisUpdate?: Date;
  /** Default: an hour after thisUpdate; null: none. */
  nextUpdate?: Date | null;
  /** Who signs: the CA (default) or a delegated responder, whose certificate goes in the response. */
  signer: Issued;
  /** OCSPResponseStatus; anything but 0 sends no response bytes. */
  responseStatus?: number;
  revokedAt?: Date;
  /** CRLReason (1: keyCompromise). */
  reason?: number;
  /** Sign something else than what is sent: a broken signature. */
  corruptSignature?: boolean;
  /** The signatureAlgorithm OID the response names (default ecdsa-with-SHA256, which it uses). */
  signatureAlgorithm?: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';

/** The CertID element (whole DER) of an OCSPRequest: what the response answers for. */
export function requestedCertId(request: Buffer): Buffer {
  const tbsRequest = children(readWhole(request))[0]!;
  const requestList = children(tbsRequest).find((e) => e.tag === Tag.SEQUENCE)!;
  const first = children(requestList)[0]!;
  return Buffer.from(children(first)[0]!.encoded);
}

/** An OCSPResponse for `certIdDer`, signed by `options.signer`. */
export function buildResponse(certIdDer: Buffer, options: ResponseOptions): Buffer {
  const responseStatus = options.responseStatus ?? 0;
  if (responseStatus !== 0) return sequence(smallIntegerElement(responseStatus, Tag.ENUMERATED));
  const thisUpdate = options.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = options.nextUpdate === undefined ? new Date(thisUpdate.getTime() + 3_600_000) : options.nextUpdate;
  let certStatus: Buffer;
  if (options.status === 'revoked') {
    const reason = options.reason === undefined ? [] : [explicit(0, smallIntegerElement(options.reason, Tag.ENUMERATED))];
    certStatus = tlv(contextTag(1), generalizedTimeElement(options.revokedAt ?? thisUpdate), ...reason);
  } else {
    certStatus = tlv(contextTag(options.status === 'unknown' ? 2 : 0, false));
  }
  const single = sequence(certIdDer, certStatus, generalizedTimeElement(thisUpdate), ...(nextUpdate === null ? [] : [explicit(0, generalizedTimeElement(nextUpdate))]));
  const signerCert = options.signer.certificate;
  // responderID byKey [2]: the SHA-1 of the signer's public key bits.
  const keyHash = createHash('sha1').update(publicKeyBits(signerCert.raw)).digest();
  const tbs = sequence(explicit(2, octetString(keyHash)), generalizedTimeElement(new Date()), sequence(single));
  const signed = options.corruptSignature === true ? Buffer.concat([tbs, Buffer.from([0])]) : tbs;
  const signature = sign('sha256', signed, options.signer.key);
  const delegated = !signerCert.ca;
  const basic = sequence(tbs, sequence(oid(options.signatureAlgorithm ?? ECDSA_WITH_SHA256)), bitString(signature), ...(delegated ? [explicit(0, sequence(Buffer.from(signerCert.raw)))] : []));
  return sequence(smallIntegerElement(0, Tag.ENUMERATED), explicit(0, sequence(oid(ID_PKIX_OCSP_BASIC), octetString(basic))));
}

function publicKeyBits(certificateDer: Buffer): Buffer {
  const tbs = children(children(readWhole(certificateDer))[0]!);
  const at = tbs[0]!.tag === contextTag(0) ? 1 : 0;
  return bitStringBytes(children(tbs[at + 5]!)[1]!.content);
}

export type Behaviour = 'answer' | 'fail' | 'hang';

export class TestResponder {
  readonly url: string;
  behaviour: Behaviour;
  options: ResponseOptions;
  /** Requests received so far. */
  requests = 0;
  readonly #server: http.Server;
  readonly #events = new EventEmitter();

  private constructor(server: http.Server, behaviour: Behaviour, options: ResponseOptions) {
    this.#server = server;
    this.behaviour = behaviour;
    this.options = options;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ocsp`;
  }

  static async start(options: ResponseOptions, behaviour: Behaviour = 'answer'): Promise<TestResponder> {
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const responder = new TestResponder(server, behaviour, options);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => responder.#answer(req, res));
    return responder;
  }

  /** Resolves at the next request received. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.#events.once('request', () => resolve()));
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests++;
      this.#events.emit('request');
      if (this.behaviour === 'hang') return; // never answers; close() cuts it
      if (this.behaviour === 'fail' || req.method !== 'POST' || req.headers['content-type'] !== 'application/ocsp-request') {
        res.writeHead(500).end();
        return;
      }
      const body = buildResponse(requestedCertId(Buffer.concat(chunks)), this.options);
      res.writeHead(200, { 'Content-Type': 'application/ocsp-response', 'Content-Length': body.length }).end(body);
    });
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
