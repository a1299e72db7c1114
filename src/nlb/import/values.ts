/**
 * The values of the NLB cmdlets' properties, read the same way whatever form printed them: text
 * cells ("True", "", "10.0.0..." when a table cut it) and ConvertTo-Json values (booleans, numbers,
 * null, an IPAddress serialized as an object with IPAddressToString).
 */

/** A cell cut to its column: "10.0.0..." (Windows PowerShell) or "10.0.0.…" (PowerShell 7). */
export function truncatedPrefix(value: string): string | undefined {
  if (value.endsWith('...')) return value.slice(0, -3);
  if (value.endsWith('…')) return value.slice(0, -1);
  return undefined;
}

/**
 * How deep a value may nest. The NLB cmdlets' objects nest two or three levels (an IPAddress in a
 * property, ConvertTo-Json's default -Depth is 2); a document deeper than this is not an NLB
 * output, and walking it without a bound would overflow the stack.
 */
export const MAX_VALUE_DEPTH = 64;

/** The value as one line of text; undefined for empty and null, and for what nests deeper than MAX_VALUE_DEPTH. */
export function textOf(value: unknown, depth = 0): string | undefined {
  if (value === null || value === undefined || depth > MAX_VALUE_DEPTH) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) {
    const items = value.map((item) => textOf(item, depth + 1)).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items.join(', ');
  }
  if (typeof value === 'object') {
    const ip = ipOfObject(value as Record<string, unknown>);
    if (ip !== undefined) return ip;
    const name = (value as { Name?: unknown }).Name;
    if (typeof name === 'string' && name.trim() !== '') return name.trim();
    return nestedDeeperThan(value, MAX_VALUE_DEPTH - depth) ? undefined : JSON.stringify(value);
  }
  return String(value);
}

/** Whether the value nests more than `levels` objects or arrays deep; stops at the first level past it. */
export function nestedDeeperThan(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levels <= 0) return true;
  return Object.values(value).some((item) => nestedDeeperThan(item, levels - 1));
}

/**
 * A System.Net.IPAddress as ConvertTo-Json writes it: IPAddressToString, or failing that the
 * IPv4 Address property, a 32-bit number whose lowest byte is the first octet.
 */
function ipOfObject(value: Record<string, unknown>): string | undefined {
  const text = value.IPAddressToString;
  if (typeof text === 'string' && text !== '') return text;
  const address = value.Address;
  const family = value.AddressFamily;
  if (typeof address === 'number' && Number.isInteger(address) && address >= 0 && address <= 0xffff_ffff && (family === 2 || family === 'InterNetwork')) {
    return [0, 8, 16, 24].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
  }
  return undefined;
}

/** A non-negative integer; null when the value is there but is not one. */
export function integerOf(value: unknown): number | undefined | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const text = textOf(value);
  if (text === undefined) return undefined;
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
}

export function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = textOf(value)?.toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return undefined;
}
