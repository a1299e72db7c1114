import { headerValue } from './request-keys.ts';
import { TableBinding } from './table-binding.ts';
import type { PersistenceMethod, PersistenceModule } from './types.ts';

export const header: PersistenceModule = {
  type: 'header',
  usesTable: true,
  firstChoice: 'hash',
  create(env): PersistenceMethod {
    const table = new TableBinding(env.table!, env.servers);
    const name = env.config.headerName!.toLowerCase();
    const { hash } = env;
    return {
      type: 'header',
      key: (head, fields, _client, previous) => headerValue(head.buf, fields, name, previous),
      lookup: (key, now) => table.lookup(key, now),
      remember: (key, server, now) => table.remember(key, server, now),
      choose: (key, exclude) => hash.pick(key, exclude),
    };
  },
};
