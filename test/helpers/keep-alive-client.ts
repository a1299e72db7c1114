/**
 * A keep-alive client connection from a chosen loopback address, for connection limits: a
 * connection over a limit is closed by Fulcrum before it reads a byte, so a request on it gets
 * 'closed' (no response byte) where an admitted one gets its response.
 */
import net from 'node:net';
import { parseResponse, type ParsedResponse } from '../l7/harness.ts';

export interface ClientConnection {
  socket: net.Socket;
  /**
   * Write `bytes` (a request, or its first part) and read its response; 'closed' when the
   * connection closed first. `isHead`: the request was HEAD (the response has no body).
   */
  request(bytes: string | Buffer, options?: { isHead?: boolean }): Promise<ParsedResponse | 'closed'>;
  /** Settles when the connection has closed. */
  closed: Promise<void>;
  destroy(): void;
}

export async function openConnection(port: number, localAddress: string, timeoutMs = 3000): Promise<ClientConnection> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let buf = Buffer.alloc(0);
  let isClosed = false;
  let wake = (): void => {};
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    wake();
  });
  // A refused connection may be reset under a request in flight: that is its close.
  socket.on('error', () => {});
  // Not events.once: it rejects when 'error' comes first, and a reset does.
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      isClosed = true;
      wake();
      resolve();
    });
  });
  // A connection over a limit may be reset before the client has seen it connect.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
  return {
    socket,
    closed,
    destroy: () => socket.destroy(),
    request: async (bytes, options = {}) => {
      if (!isClosed) socket.write(bytes);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = parseResponse(buf, 0, options.isHead ?? false, isClosed);
        if (response !== null) {
          buf = buf.subarray(response.end);
          return response;
        }
        if (isClosed) return 'closed';
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no response and no close within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}
