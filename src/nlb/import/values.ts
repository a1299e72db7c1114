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

/** The value as one line of text; undefined for empty and null. */
export function textOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (Array.isArray(value)) {
    const items = value.map(textOf).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items.join(', ');
  }
  if (typeof value === 'object') {
    const ip = ipOfObject(value as Record<string, unknown>);
    if (ip !== undefined) return ip;
    const name = (value as { Name?: unknown }).Name;
    if (typeof name === 'string' && name.trim() !== '') return name.trim();
    return JSON.stringify(value);
  }
  return String(value);
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
