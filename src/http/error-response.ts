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

/** The config's notAvailable answer, resolved. */
export interface NotAvailableConfig {
  readonly status: number;
  readonly body?: string | undefined;
  readonly redirect?: string | undefined;
}

/**
 * The answer when no real server (and no sorry server) can serve: a redirect to a maintenance
 * page, the body the admin wrote, or our own line naming the service and the reason.
 */
export function notAvailableResponse(config: NotAvailableConfig, virtualService: string, close: boolean): Buffer {
  const connection = `Connection: ${close ? 'close' : 'keep-alive'}\r\n`;
  if (config.redirect !== undefined) {
    // The URL as the admin wrote it may hold spaces or non-ASCII letters; a header field must be
    // ASCII, so it goes out as the URL parser serializes it (percent-encoded, CR and LF dropped).
    return Buffer.from(
      `HTTP/1.1 302 Found\r\nLocation: ${new URL(config.redirect).href}\r\nCache-Control: no-store\r\nContent-Length: 0\r\n${connection}\r\n`,
      'utf8',
    );
  }
  if (config.body === undefined) return errorResponse(config.status, virtualService, NO_REAL_SERVER, close);
  const text = STATUS_CODES[config.status] ?? 'Error';
  return Buffer.from(
    `HTTP/1.1 ${config.status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n` +
      `Content-Length: ${Buffer.byteLength(config.body)}\r\n${connection}\r\n${config.body}`,
    'utf8',
  );
}

export const NO_REAL_SERVER = 'no real server available';
