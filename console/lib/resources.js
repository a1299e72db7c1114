/**
 * What the console can create and edit, and where each lives in the API: its collection, its
 * item URL, its OpenAPI schema name, and the key that names it. Sections are the parts of an item
 * with a form of their own (a pool's health check, a virtual service's rules).
 */
import { get, seg } from './api.js';

export const RESOURCES = {
  'virtual-services': {
    title: 'virtual service',
    schema: 'VirtualService',
    idKey: 'name',
    collection: () => '/virtual-services',
    item: ([name]) => `/virtual-services/${seg(name)}`,
    page: (item) => `#/vs/${encodeURIComponent(item.name)}`,
    sections: { rules: 'Rules', tls: 'TLS', healthCheck: 'Health check', persistence: 'Persistence', realServers: 'Real servers' },
  },
  pools: {
    title: 'pool',
    schema: 'Pool',
    idKey: 'name',
    collection: () => '/pools',
    item: ([name]) => `/pools/${seg(name)}`,
    page: (item) => `#/pools/${encodeURIComponent(item.name)}`,
    sections: { healthCheck: 'Health check', persistence: 'Persistence', realServers: 'Real servers' },
  },
  'real-servers': {
    title: 'real server',
    schema: 'RealServer',
    idKey: 'address',
    /** args: [pool, address] */
    collection: ([pool]) => `/pools/${seg(pool)}/real-servers`,
    item: ([pool, address]) => `/pools/${seg(pool)}/real-servers/${seg(address)}`,
    page: (_item, [pool]) => `#/pools/${encodeURIComponent(pool)}`,
    sections: { healthCheck: 'Health check' },
  },
  'gslb-fqdns': {
    title: 'GSLB name',
    schema: 'GslbFqdn',
    idKey: 'name',
    collection: () => '/gslb/fqdns',
    item: ([name]) => `/gslb/fqdns/${seg(name)}`,
    page: () => '#/gslb',
    sections: { sites: 'Sites' },
  },
  gslb: {
    title: 'GSLB settings',
    schema: 'Gslb',
    idKey: null,
    singleton: true,
    collection: () => '/gslb',
    item: () => '/gslb',
    page: () => '#/gslb',
    sections: {},
  },
};

let openapi = null;

/** The OpenAPI document (once per page load: it changes only with the server's version). */
export async function loadOpenApi() {
  if (openapi === null) openapi = get('/openapi.json').then((r) => r.body).catch((e) => {
    openapi = null;
    throw e;
  });
  return openapi;
}

/** The schema named `name` in components.schemas, and the document its $refs resolve against. */
export async function loadSchema(name) {
  const doc = await loadOpenApi();
  const schema = doc?.components?.schemas?.[name];
  if (!schema) throw new Error(`the API's OpenAPI document has no schema ${name} (components.schemas has ${Object.keys(doc?.components?.schemas ?? {}).join(', ') || 'none'})`);
  return { schema, root: doc };
}
