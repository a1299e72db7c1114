import { TableBinding } from './table-binding.ts';
import type { PersistenceMethod, PersistenceModule } from './types.ts';

/**
 * The user name a Remote Desktop client sent (Cookie: mstshash=USER), which the TCP listener
 * reads from the connection's first packet (src/l4/rdp-cookie.ts) into `connectionKey`.
 * Lowercased: Windows user names are case-insensitive, and a user who types "Alice" one day and
 * "alice" the next must reach the server holding their session.
 */
export const rdpCookie: PersistenceModule = {
  type: 'rdp-cookie',
  usesTable: true,
  firstChoice: 'hash',
  create(env): PersistenceMethod {
    const table = new TableBinding(env.table!, env.servers);
    const { hash } = env;
    return {
      type: 'rdp-cookie',
      key: (_head, _fields, client) => {
        const user = client.connectionKey;
        return user === null || user === '' ? null : user.toLowerCase();
      },
      lookup: (key, now) => table.lookup(key, now),
      remember: (key, server, now) => table.remember(key, server, now),
      choose: (key, exclude) => hash.pick(key, exclude),
    };
  },
};
