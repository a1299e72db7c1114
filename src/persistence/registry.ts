/**
 * Every persistence type's name, description and needs, declared once: the config schema (enum,
 * description, generated docs), validation (what each protocol can offer) and the persistence
 * modules (modules.ts) read this list. Metadata only, so the config can import it without the
 * data path.
 */
import type { MethodNeed } from '../pool/needs.ts';

export interface PersistenceInfo {
  readonly type: string;
  readonly needs: readonly MethodNeed[];
  readonly description: string;
}

export const PERSISTENCE_REGISTRY = [
  { type: 'source-ip', needs: ['address'], description: 'The client address (masked by sourceMask): first a consistent hash over the available servers, then remembered.' },
  {
    type: 'active-cookie',
    needs: ['http-request', 'http-response'],
    description: 'A cookie Fulcrum inserts (cookieName, default FULCRUMID) whose value is a signed, opaque server identity with a signed expiry; no table.',
  },
  {
    type: 'server-cookie',
    needs: ['http-request', 'http-response'],
    description:
      "The application's own cookie (cookieName): its value is learned from the real server's Set-Cookie and remembered. A value not learned here (another worker or node saw it) goes to the fallback.",
  },
  { type: 'header', needs: ['http-request'], description: 'The value of a request header (headerName): first a consistent hash of the value, then remembered.' },
  { type: 'url-hash', needs: ['http-request'], description: 'A consistent hash of the URL path (without the query) over the available servers; no table.' },
  {
    type: 'query-item',
    needs: ['http-request'],
    description: 'The value of a query parameter (queryItem), as written in the URL: first a consistent hash of the value, then remembered.',
  },
  {
    type: 'rdp-cookie',
    needs: ['stream-start'],
    description:
      'The user name a Remote Desktop client sends in its Connection Request (Cookie: mstshash=USER), case-insensitive: first a consistent hash of the name, then remembered. tcp services only.',
  },
] as const satisfies readonly PersistenceInfo[];

export type PersistenceType = (typeof PERSISTENCE_REGISTRY)[number]['type'];

export const PERSISTENCE_TYPES = PERSISTENCE_REGISTRY.map((m) => m.type) as unknown as readonly [PersistenceType, ...PersistenceType[]];

export function persistenceInfo(type: string): PersistenceInfo | undefined {
  return PERSISTENCE_REGISTRY.find((m) => m.type === type);
}
