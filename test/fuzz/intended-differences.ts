/**
 * Where Fulcrum means to accept what llhttp refuses, made explicit and narrow. Each request
 * Fulcrum accepted is presented to llhttp with at most these bytes changed, and Fulcrum's verdict
 * is changed the same way; everything else about the request (target, headers, body, trailers,
 * where the next request starts) must still agree.
 *
 * 1. A method token outside Node's list (RFC 9110 §9.1: the method is an extensible token;
 *    Fulcrum forwards every one, as HAProxy and nginx do; llhttp: HPE_INVALID_METHOD) becomes
 *    REPLACEMENT_METHOD. Node's request parsing does not depend on the method but for CONNECT,
 *    which Fulcrum refuses, and it does not count the method against its header size limit.
 * 2. HTTP/1.x with x >= 2 (RFC 9110 §2.5: handled as HTTP/1.1; llhttp: HPE_INVALID_VERSION)
 *    becomes HTTP/1.1; Fulcrum reports it as 1.1 already.
 *
 * The third difference needs no alignment: Fulcrum refuses Host values llhttp takes (llhttp
 * checks none), and the property is one-directional.
 */
import { isKnownMethod } from '../../src/http/methods.ts';
import type { FulcrumVerdict } from './fulcrum-framing.ts';

export const REPLACEMENT_METHOD = 'GET';

export interface Aligned {
  /** The bytes llhttp gets. */
  input: Buffer;
  /** Fulcrum's verdict as llhttp should then see it. */
  verdict: FulcrumVerdict;
  /** What was aligned, for messages ('' when nothing). */
  note: string;
}

export function alignForOracle(input: Buffer, verdict: FulcrumVerdict): Aligned {
  const parts: Buffer[] = [];
  const notes: string[] = [];
  let copied = 0;
  const messages = verdict.messages.map((m, i) => {
    const foreignMethod = !isKnownMethod(m.method);
    const higherMinor = m.minorVersion >= 2;
    if (!foreignMethod && !higherMinor) return m;
    if (foreignMethod) {
      parts.push(input.subarray(copied, m.methodStart), Buffer.from(REPLACEMENT_METHOD, 'latin1'));
      copied = m.methodEnd;
      notes.push(`#${i + 1} method ${JSON.stringify(m.method)} as ${REPLACEMENT_METHOD}`);
    }
    if (higherMinor) {
      parts.push(input.subarray(copied, m.minorVersionAt), Buffer.from('1', 'latin1'));
      copied = m.minorVersionAt + 1;
      notes.push(`#${i + 1} HTTP/1.${m.minorVersion} as HTTP/1.1`);
    }
    return foreignMethod ? { ...m, method: REPLACEMENT_METHOD } : m;
  });
  if (notes.length === 0) return { input, verdict, note: '' };
  parts.push(input.subarray(copied));
  return { input: Buffer.concat(parts), verdict: { ...verdict, messages }, note: `aligned: ${notes.join(', ')}` };
}
