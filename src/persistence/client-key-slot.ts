import type { ClientKeys } from './types.ts';

/** Per client: its persistence keys, kept while its address stays the same. */
export class ClientKeySlot implements ClientKeys {
  readonly clientIp: string;
  connectionKey: string | null = null;
  sourceKey = '';
  sourceMask4 = -1;
  sourceMask6 = -1;
  lastKey: string | null = null;
  lastFallbackKey: string | null = null;

  constructor(clientIp: string) {
    this.clientIp = clientIp;
  }
}
