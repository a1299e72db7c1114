import { STATUS_CODES } from 'node:http';

/**
 * A short response Fulcrum writes itself (parse errors, 502/503/504). The body names the virtual
 * service and the reason so that the person reading it knows where to look; the access log
 * carries the same reason.
 */
export function errorResponse(status: number, virtualService: string, reason: string, close: boolean): Buffer {
  const text = STATUS_CODES[status] ?? 'Error';
  const body = `${status} ${text}: ${reason} (virtual service "${virtualService}")\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${text}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      'Cache-Control: no-store\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: ${close ? 'close' : 'keep-alive'}\r\n` +
      `\r\n${body}`,
    'utf8',
  );
}
