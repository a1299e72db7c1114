import type { PersistenceConfig } from '../config/persistence.ts';
import { sourceKey } from './source-mask.ts';
import { TableBinding } from './table-binding.ts';
import type { ClientKeys, PersistenceMethod, PersistenceModule } from './types.ts';

/** The client's address, masked (sourceMask / sourceMask6); the key is computed once per connection. */
export function clientSourceKey(client: ClientKeys, config: PersistenceConfig): string {
  if (client.sourceMask4 !== config.sourceMask || client.sourceMask6 !== config.sourceMask6) {
    client.sourceKey = sourceKey(client.clientIp, config.sourceMask, config.sourceMask6);
    client.sourceMask4 = config.sourceMask;
    client.sourceMask6 = config.sourceMask6;
  }
  return client.sourceKey;
}

export const sourceIp: PersistenceModule = {
  type: 'source-ip',
  usesTable: true,
  firstChoice: 'hash',
  create(env): PersistenceMethod {
    const table = new TableBinding(env.table!, env.servers);
    const { config, hash } = env;
    return {
      type: 'source-ip',
      key: (_head, _fields, client) => clientSourceKey(client, config),
      lookup: (key, now) => table.lookup(key, now),
      remember: (key, server, now) => table.remember(key, server, now),
      choose: (key, exclude) => hash.pick(key, exclude),
    };
  },
};
