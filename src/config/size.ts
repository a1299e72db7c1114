/**
 * Byte sizes as administrators write them: 1048576, "512KiB", "1MiB", "10MB". KiB, MiB and GiB
 * are powers of 1024; KB, MB and GB powers of 1000 (IEC 80000-13), as nginx's and HAProxy's
 * users expect once told; the unit's case is not significant.
 */
import type { ParseResult } from './problem.ts';

/** 1 TiB: far above any body a rule should let through, and exact in a double (2^40). */
export const MAX_SIZE_BYTES = 2 ** 40;

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
  tib: 1_099_511_627_776,
};

export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)? ?([KkMmGgTt][Ii]?)?[Bb]?$';
export const SIZE_ALLOWED = 'a number of bytes, or a number with a unit: 512KiB, 1MiB, 10MB (KiB/MiB/GiB: 1024-based; KB/MB/GB: 1000-based)';

/** A size in bytes: a whole number, or a number with a unit. */
export function parseSize(text: string): ParseResult<number> {
  const match = /^([0-9]+(?:\.[0-9]+)?) ?([A-Za-z]*)$/.exec(text.trim());
  if (match === null) return { ok: false, message: `${JSON.stringify(text)} is not a size; ${SIZE_ALLOWED}` };
  const unit = match[2]!.toLowerCase();
  const factor = unit === '' ? 1 : (UNIT_BYTES[unit] ?? UNIT_BYTES[`${unit}b`]);
  if (factor === undefined) return { ok: false, message: `"${match[2]}" in ${JSON.stringify(text)} is not a size unit; write B, KiB, MiB, GiB, KB, MB or GB` };
  const bytes = Number(match[1]) * factor;
  if (!Number.isInteger(bytes)) return { ok: false, message: `${JSON.stringify(text)} is not a whole number of bytes` };
  if (bytes > MAX_SIZE_BYTES) return { ok: false, message: `${JSON.stringify(text)} is above the largest size, 1TiB` };
  return { ok: true, value: bytes };
}
