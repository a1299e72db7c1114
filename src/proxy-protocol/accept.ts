/**
 * Read the PROXY header a balancer in front of us sends first on a connection, then hand the
 * socket over, paused, to whoever serves the connection (the HTTP engine, a TCP relay).
 */
import type { Socket } from 'node:net';
import { parseProxyHeader } from './parse.ts';
import type { ProxyHeader } from './types.ts';

export type AcceptResult = { ok: true; header: ProxyHeader; rest: Buffer | null } | { ok: false; reason: string };

/**
 * Read from `socket` until a whole PROXY header has arrived, then stop reading: the 'data'
 * listener is removed and the socket PAUSED, so the caller attaches its own handlers without
 * losing a byte and then calls socket.resume(). `rest` holds what came after the header in the
 * same reads (the start of the client's data), null when nothing did.
 *
 * Not a header, no whole header within `timeoutMs`, or the connection ended or failed first:
 * `done` gets ok:false with the reason in words, and the socket is destroyed after `done`
 * returns (so `done` can still read its addresses). `done` is called exactly once.
 */
export function acceptProxyHeader(socket: Socket, timeoutMs: number, done: (result: AcceptResult) => void): void {
  let received: Buffer | null = null;
  let finished = false;

  const finish = (result: AcceptResult): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    socket.off('error', onError);
    if (result.ok) {
      socket.pause();
      done(result);
      return;
    }
    // A late 'error' from the destroy below must not become an uncaught exception.
    socket.on('error', ignore);
    try {
      done(result);
    } finally {
      socket.destroy();
    }
  };

  const onData = (chunk: Buffer): void => {
    // Usually the whole header and the request come in one read; only a split header is copied.
    const buf = received === null ? chunk : Buffer.concat([received, chunk]);
    const parsed = parseProxyHeader(buf);
    switch (parsed.kind) {
      case 'need-more':
        received = received === null ? Buffer.from(chunk) : buf;
        return;
      case 'error':
        return finish({ ok: false, reason: parsed.reason });
      case 'ok':
        return finish({ ok: true, header: parsed.header, rest: parsed.length < buf.length ? buf.subarray(parsed.length) : null });
    }
  };
  const got = (): string => (received === null ? '' : ` (got ${received.length} bytes)`);
  const onEnd = (): void =>
    finish({ ok: false, reason: `client closed the connection before ${received === null ? 'sending a' : 'a complete'} PROXY header${got()}` });
  const onClose = onEnd;
  const onError = (err: NodeJS.ErrnoException): void =>
    finish({ ok: false, reason: `connection failed before a complete PROXY header: ${err.code ?? err.message}` });
  const timer = setTimeout(
    () => finish({ ok: false, reason: `no ${received === null ? '' : 'complete '}PROXY header within ${duration(timeoutMs)}${got()}` }),
    timeoutMs,
  );
  timer.unref();

  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.on('error', onError);
}

function ignore(): void {}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
