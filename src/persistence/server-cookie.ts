import type { FieldTable } from '../http/fields.ts';
import { cookieValue, setCookieValue } from './request-keys.ts';
import { TableBinding } from './table-binding.ts';
import type { PersistenceMethod, PersistenceModule } from './types.ts';

/** A server-cookie method also learns: the value the real server sets becomes a key to that server. */
export interface LearningMethod extends PersistenceMethod {
  /** The value the response head in `buf` sets for the cookie, or null. */
  learn(buf: Buffer, fields: FieldTable): string | null;
}

/** Session values longer than this are not worth a table entry (and would let one client fill memory fast). */
const MAX_VALUE_LENGTH = 512;

export const serverCookie: PersistenceModule = {
  type: 'server-cookie',
  usesTable: true,
  firstChoice: 'scheduler',
  create(env): LearningMethod {
    const table = new TableBinding(env.table!, env.servers);
    const name = Buffer.from(env.config.cookieName!, 'latin1');
    return {
      type: 'server-cookie',
      key: (head, fields, _client, previous) => cookieValue(head.buf, fields, name, MAX_VALUE_LENGTH, previous),
      lookup: (key, now) => table.lookup(key, now),
      remember: (key, server, now) => table.remember(key, server, now),
      choose: () => null,
      learn: (buf, fields) => {
        const value = setCookieValue(buf, fields, name);
        return value !== null && value.length <= MAX_VALUE_LENGTH ? value : null;
      },
    };
  },
};
