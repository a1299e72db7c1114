/**
 * One OCSP exchange over HTTP (RFC 6960 appendix A.1): the DER request POSTed as
 * application/ocsp-request, the DER response read back. POST rather than GET with the request in
 * the URL: every responder takes it, and no URL encoding can go wrong. Runs in the supervisor,
 * never on a worker's data path.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * A real response is 0.5-3 KiB (a signature, and perhaps the responder's certificate); 64 KiB is
 * room for a chain of them and still stops a responder (or what sits at its URL) from filling memory.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export type OcspFetch = (url: string, request: Buffer, timeoutMs: number) => Promise<Buffer>;

/** Rejects with an Error whose message says what went wrong (unreachable, timed out, status, too large). */
export const fetchOcsp: OcspFetch = (url, request, timeoutMs) =>
  new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`${url} is not a URL`));
      return;
    }
    const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
    if (client === null) {
      reject(new Error(`${url}: only http and https responders are supported`));
      return;
    }
    const req = client.request(target, {
      method: 'POST',
      headers: { 'Content-Type': 'application/ocsp-request', Accept: 'application/ocsp-response', 'Content-Length': request.length },
      // No keep-alive: one request per certificate every few days.
      agent: false,
    });
    let settled = false;
    const settle = (error: Error | null, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== null) {
        req.destroy();
        reject(error);
      } else resolve(body!);
    };
    // The whole exchange, from connecting to the last byte: a responder that trickles is as slow as one that never answers.
    const timer = setTimeout(() => settle(new Error(`${url} did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => settle(new Error(`${url}: ${error.code ?? error.message}`)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        settle(new Error(`${url} answered HTTP ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) settle(new Error(`${url} sent more than ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => settle(null, Buffer.concat(chunks)));
      res.on('error', (error) => settle(new Error(`${url}: ${error.message}`)));
    });
    req.end(request);
  });
