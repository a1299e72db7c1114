/**
 * The console's one way to the REST API (docs/api.md): JSON in and out, the session's CSRF token
 * on every write, ETags for If-Match, and errors as ApiError with the server's code, message and
 * problems. A 401 anywhere means the session is gone: the app goes back to the login page.
 */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{code?: string, message?: string, problems?: unknown[], allowed?: string[], suggestion?: string}} error
   */
  constructor(status, error) {
    super(error.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error.code ?? '';
    this.problems = error.problems ?? [];
    this.allowed = error.allowed;
    this.suggestion = error.suggestion;
  }
}

let csrfToken = '';
/** @type {() => void} */
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token ?? '';
}

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * @param {string} method
 * @param {string} path  under /api/v1, e.g. "/pools"
 * @param {{body?: unknown, ifMatch?: string, query?: Record<string, string | undefined>, raw?: boolean, text?: string, contentType?: string}} [options]
 * @returns {Promise<{status: number, body: any, etag: string | null, headers: Headers}>}
 */
export async function request(method, path, options = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  // The API records where a change came from (config versions show "console").
  const headers = { accept: 'application/json', 'x-fulcrum-client': 'console' };
  if (method !== 'GET' && method !== 'HEAD') {
    if (csrfToken !== '') headers['x-csrf-token'] = csrfToken;
  }
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  let body;
  if (options.text !== undefined) {
    body = options.text;
    headers['content-type'] = options.contentType ?? 'text/plain';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  const etag = response.headers.get('etag');
  if (options.raw && response.ok) return { status: response.status, body: response, etag, headers: response.headers };
  const text = response.status === 204 ? '' : await response.text();
  let parsed = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const error = parsed && typeof parsed === 'object' && parsed.error ? parsed.error : { message: typeof parsed === 'string' && parsed !== '' ? parsed : `HTTP ${response.status}` };
    if (response.status === 401 && path !== '/session') onUnauthorized();
    throw new ApiError(response.status, error);
  }
  return { status: response.status, body: parsed, etag, headers: response.headers };
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body, options = {}) => request('POST', path, { ...options, body });
export const put = (path, body, options = {}) => request('PUT', path, { ...options, body });
export const del = (path, options = {}) => request('DELETE', path, options);

/** One path segment: names and addresses ("[::1]:80") go into URLs encoded. */
export const seg = (value) => encodeURIComponent(String(value));
