/**
 * The text of a file saved on Windows. Windows PowerShell 5.1's `>` and Out-File write UTF-16 LE
 * with a byte order mark, PowerShell 7 writes UTF-8 (Set-Content -Encoding utf8BOM adds a BOM),
 * and both end lines with CRLF; a file copied off a server may be any of these. Line endings come
 * back as LF.
 */

export function decodeText(bytes: Uint8Array): string {
  return decodeBytes(bytes).replace(/\r\n?/g, '\n');
}

function decodeBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (looksLikeUtf16(bytes)) return new TextDecoder(bytes[0] === 0 ? 'utf-16be' : 'utf-16le').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * UTF-16 without a BOM (Out-File -Encoding unicode never omits it, but a copy through some
 * editors does): ASCII text then has a zero in every other byte. A quarter of the first 512
 * bytes being zero never happens in UTF-8 text.
 */
function looksLikeUtf16(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  if (sample.length < 4) return false;
  let zeros = 0;
  for (const byte of sample) if (byte === 0) zeros++;
  return zeros * 4 >= sample.length;
}
