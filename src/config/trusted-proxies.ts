/**
 * `trustedProxies`: the proxies whose X-Forwarded-For Fulcrum believes when it needs the client's
 * address (rate limits per client). The data path walks the header with
 * src/limits/forwarded-for.ts; this is the list it is given, parsed into CIDRs.
 */
import { z } from 'zod';
import { parseCidr, type Cidr } from '../ip/bytes.ts';
import { field, parsedString } from './schema-builders.ts';

export type { Cidr };

export const TrustedProxiesSchema = field(
  z.array(
    field(parsedString(parseCidr), 'A trusted proxy: an address (10.0.0.7, 2001:db8::7) or a network (10.0.0.0/8, 2001:db8::/32).', {
      noun: 'an address or network',
      allowed: 'an IPv4 or IPv6 address, or a network in CIDR form, e.g. 10.0.0.0/8, 2001:db8::/32',
    }),
  ).max(4096).default([]),
  'Proxies (addresses or networks) in front of Fulcrum whose X-Forwarded-For is believed. When a connection comes from one, the client is found by walking X-Forwarded-For from the right past trusted proxies (nginx real_ip_recursive); from any other peer the header is ignored, since a client can write anything into it. Empty (default): the client is always the connection\'s peer.',
);
