import { activeCookie } from './active-cookie.ts';
import { header } from './header.ts';
import { queryItem } from './query-item.ts';
import { rdpCookie } from './rdp-cookie.ts';
import { serverCookie } from './server-cookie.ts';
import { sourceIp } from './source-ip.ts';
import type { PersistenceModule } from './types.ts';
import { urlHash } from './url-hash.ts';

/** Every persistence type by its config name. */
export const persistenceModules: ReadonlyMap<string, PersistenceModule> = new Map(
  [sourceIp, activeCookie, serverCookie, header, urlHash, queryItem, rdpCookie].map((module) => [module.type, module]),
);
