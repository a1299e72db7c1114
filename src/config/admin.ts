/**
 * The admin listener: the REST API, the web console and /metrics. Safe by default: on loopback
 * it may run without TLS; anywhere else it needs TLS (a password or a session cookie must never
 * cross a network in clear), and at start it needs users (src/supervisor checks the database).
 */
import { z } from 'zod';
import { ADDRESS_PATTERN, parseHostPort, type HostPort } from './address.ts';
import { field, parsedString } from './schema-builders.ts';
import { isLoopbackAddress } from '../ip/loopback.ts';
import { StreamTlsSchema } from './tls.ts';

const MetricsSchema = z.strictObject({
  public: field(
    z.boolean().default(false),
    'Serve GET /metrics without a token, for a Prometheus server that cannot send one. The metrics name virtual services, pools and real servers; keep it false unless the admin listener is on a management network.',
  ),
});

export const AdminSchema = z
  .strictObject({
    listen: field(
      parsedString((text) => parseHostPort(text, { wildcard: true }), ADDRESS_PATTERN),
      'Address and port of the admin listener: the REST API (/api/v1), the web console (/) and Prometheus metrics (/metrics), e.g. 127.0.0.1:9090. Any address other than loopback needs tls and at least one user (fulcrum user add).',
      { noun: 'an admin listen address', allowed: 'host:port, e.g. 127.0.0.1:9090, [::1]:9090' },
    ),
    tls: field(
      StreamTlsSchema.optional(),
      'Serve the admin listener over HTTPS with these certificates (the same certificate handling as https virtual services: files are watched and reloaded). Required unless listen is a loopback address.',
    ),
    allowedHosts: field(
      z.array(z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/)).max(64).default([]),
      'Host names (besides IP addresses and localhost) that browsers may use to reach the admin listener, e.g. lb1.example.com. A request for any other name is refused: a guard against DNS rebinding.',
      { noun: 'a host name' },
    ),
    metrics: field(MetricsSchema.prefault({}), 'Prometheus metrics at GET /metrics (a token of any role, unless public).'),
    database: field(
      z.string().min(1).optional(),
      'The state database (users, API tokens, sessions, audit log, config versions, statistics history), an SQLite file. Default: next to the config file, with its name and .db (fulcrum.yaml -> fulcrum.db). Back it up with the config (GET /api/v1/backup or fulcrum backup).',
      { noun: 'a file path' },
    ),
  })
  .superRefine((admin, ctx) => {
    if (admin.tls === undefined && !isLoopback(admin.listen)) {
      ctx.addIssue({
        code: 'custom',
        input: admin,
        path: ['listen'],
        message: `the admin listener on ${admin.listen.host} is reachable from the network, so it needs tls (admin.tls.certificates) and users; or listen on 127.0.0.1 or [::1]`,
      });
    }
  });

export type AdminConfig = z.output<typeof AdminSchema>;

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(address: HostPort): boolean {
  return address.host.toLowerCase() === 'localhost' || isLoopbackAddress(address.host);
}
