import { pathOf } from './request-keys.ts';
import type { PersistenceMethod, PersistenceModule } from './types.ts';

/**
 * The path, hashed over the available servers each time: no table, so every worker and node
 * agrees for as long as the set of available servers is the same, and nothing grows with the
 * number of URLs. A draining server gets no requests (it has no persisted clients to keep).
 */
export const urlHash: PersistenceModule = {
  type: 'url-hash',
  usesTable: false,
  firstChoice: 'hash',
  create(env): PersistenceMethod {
    const { hash } = env;
    return {
      type: 'url-hash',
      key: (head, _fields, _client, previous) => pathOf(head.buf, head.targetStart, head.targetEnd, previous),
      lookup: () => null,
      remember: () => {},
      choose: (key, exclude) => hash.pick(key, exclude),
    };
  },
};
