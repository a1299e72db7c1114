import { queryValue } from './request-keys.ts';
import { TableBinding } from './table-binding.ts';
import type { PersistenceMethod, PersistenceModule } from './types.ts';

export const queryItem: PersistenceModule = {
  type: 'query-item',
  usesTable: true,
  firstChoice: 'hash',
  create(env): PersistenceMethod {
    const table = new TableBinding(env.table!, env.servers);
    const name = Buffer.from(env.config.queryItem!, 'latin1');
    const { hash } = env;
    return {
      type: 'query-item',
      key: (head, _fields, _client, previous) => queryValue(head.buf, head.targetStart, head.targetEnd, name, previous),
      lookup: (key, now) => table.lookup(key, now),
      remember: (key, server, now) => table.remember(key, server, now),
      choose: (key, exclude) => hash.pick(key, exclude),
    };
  },
};
