import { equalsLower } from './chars.ts';

/**
 * The header names the data path acts on. Everything else is OTHER and passes through untouched.
 * Kept as small integers so that per-header state fits in a Uint8Array.
 */
export const HeaderKind = {
  OTHER: 0,
  HOST: 1,
  CONTENT_LENGTH: 2,
  TRANSFER_ENCODING: 3,
  CONNECTION: 4,
  KEEP_ALIVE: 5,
  PROXY_CONNECTION: 6,
  TE: 7,
  UPGRADE: 8,
  EXPECT: 9,
  X_FORWARDED_FOR: 10,
  X_FORWARDED_PROTO: 11,
  X_FORWARDED_HOST: 12,
  FORWARDED: 13,
  TRAILER: 14,
} as const;
export type HeaderKind = (typeof HeaderKind)[keyof typeof HeaderKind];

/** Switch on length first: most names are rejected after one comparison. */
export function classifyHeader(buf: Uint8Array, start: number, len: number): HeaderKind {
  switch (len) {
    case 2:
      return equalsLower(buf, start, len, 'te') ? HeaderKind.TE : HeaderKind.OTHER;
    case 4:
      return equalsLower(buf, start, len, 'host') ? HeaderKind.HOST : HeaderKind.OTHER;
    case 6:
      return equalsLower(buf, start, len, 'expect') ? HeaderKind.EXPECT : HeaderKind.OTHER;
    case 7:
      if (equalsLower(buf, start, len, 'upgrade')) return HeaderKind.UPGRADE;
      return equalsLower(buf, start, len, 'trailer') ? HeaderKind.TRAILER : HeaderKind.OTHER;
    case 9:
      return equalsLower(buf, start, len, 'forwarded') ? HeaderKind.FORWARDED : HeaderKind.OTHER;
    case 10:
      if (equalsLower(buf, start, len, 'connection')) return HeaderKind.CONNECTION;
      return equalsLower(buf, start, len, 'keep-alive') ? HeaderKind.KEEP_ALIVE : HeaderKind.OTHER;
    case 14:
      return equalsLower(buf, start, len, 'content-length') ? HeaderKind.CONTENT_LENGTH : HeaderKind.OTHER;
    case 15:
      if (equalsLower(buf, start, len, 'x-forwarded-for')) return HeaderKind.X_FORWARDED_FOR;
      return HeaderKind.OTHER;
    case 16:
      if (equalsLower(buf, start, len, 'x-forwarded-host')) return HeaderKind.X_FORWARDED_HOST;
      if (equalsLower(buf, start, len, 'proxy-connection')) return HeaderKind.PROXY_CONNECTION;
      return HeaderKind.OTHER;
    case 17:
      if (equalsLower(buf, start, len, 'transfer-encoding')) return HeaderKind.TRANSFER_ENCODING;
      if (equalsLower(buf, start, len, 'x-forwarded-proto')) return HeaderKind.X_FORWARDED_PROTO;
      return HeaderKind.OTHER;
    default:
      return HeaderKind.OTHER;
  }
}

/**
 * Headers a client cannot make us drop by naming them in `Connection`: the ones that frame the
 * message (dropping them would desynchronise us from the server) and the ones we vouch for.
 */
export function isProtectedFromConnection(kind: HeaderKind): boolean {
  return (
    kind === HeaderKind.HOST ||
    kind === HeaderKind.CONTENT_LENGTH ||
    kind === HeaderKind.TRANSFER_ENCODING ||
    kind === HeaderKind.X_FORWARDED_FOR ||
    kind === HeaderKind.X_FORWARDED_PROTO ||
    kind === HeaderKind.X_FORWARDED_HOST ||
    kind === HeaderKind.FORWARDED
  );
}
