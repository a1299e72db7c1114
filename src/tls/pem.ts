/**
 * PEM blocks by label, from a file that may hold several (a chain, or a key next to its
 * certificate, or an `EC PARAMETERS` block before an EC key as `openssl ecparam -genkey` writes).
 */

export interface PemBlock {
  label: string;
  /** The whole block, BEGIN and END lines included. */
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export function pemBlocks(text: string): PemBlock[] {
  return Array.from(text.matchAll(BLOCK), (m) => ({ label: m[1]!, text: m[0] }));
}

export function isCertificate(block: PemBlock): boolean {
  return block.label === 'CERTIFICATE';
}

/** PKCS#8 (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`) and the traditional `RSA`/`EC` forms. */
export function isPrivateKey(block: PemBlock): boolean {
  return block.label.endsWith('PRIVATE KEY');
}

/** PKCS#8 encryption, or the traditional form's `Proc-Type: 4,ENCRYPTED` header. */
export function isEncryptedKey(block: PemBlock): boolean {
  return block.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(block.text);
}
