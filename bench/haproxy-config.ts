/** What every HAProxy column of the bench writes alike (proxies.ts, tls-proxies.ts, h2-proxies.ts, rules-haproxy.ts). */

/**
 * The `global` and `defaults` sections of every HAProxy column: one thread, and `mode` (the mode
 * and its options: mode http ..., or mode tcp) with the timeouts; sections follow it.
 */
export function haproxyHead(mode: string): string {
  return `global
  nbthread 1
  # 9000 keeps maxsock (about 2 x maxconn) under the 20000 fd limit of this machine
  maxconn 9000
defaults
${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
`;
}

/** mode http with keep-alive on both sides and X-Forwarded-For, as every HTTP column of HAProxy. */
export const HAPROXY_HTTP_MODE = `  mode http
  option http-keep-alive
  option forwardfor
  timeout http-keep-alive 60s`;
