/**
 * curl as a real FTP client peer, beside curl.ts: listing, upload, download and resume, in
 * passive or active mode, plain or explicit FTPS.
 */
import { curl, curlSha256 } from './curl.ts';

export interface CurlFtpOptions {
  /** 'passive' (default): --ftp-pasv. 'active': --ftp-port -, the control connection's local address. */
  mode?: 'passive' | 'active';
  /**
   * true (default, curl's own behaviour): EPSV before PASV, EPRT before PORT. false: PASV and
   * PORT only (--disable-epsv --disable-eprt), whose replies and arguments carry an address that a
   * port-following proxy rewrites; EPSV and EPRT carry none to rewrite.
   */
  extended?: boolean;
  /** Explicit FTPS: AUTH TLS required (--ssl-reqd), the self-signed certificate accepted (-k). */
  tls?: boolean;
  timeoutMs?: number;
}

/** The curl arguments for `options`, ahead of the operation's own. */
export function curlFtpArgs(options: CurlFtpOptions = {}): string[] {
  const args = options.mode === 'active' ? ['--ftp-port', '-'] : ['--ftp-pasv'];
  if (options.extended === false) args.push('--disable-epsv', '--disable-eprt');
  if (options.tls) args.push('--ssl-reqd', '-k');
  return args;
}

function timeout(options: CurlFtpOptions): { timeoutMs: number } {
  return { timeoutMs: options.timeoutMs ?? 60_000 };
}

/** The LIST output of a directory URL (ending in `/`). */
export async function curlFtpList(url: string, options: CurlFtpOptions = {}): Promise<string> {
  const { stdout } = await curl([...curlFtpArgs(options), url], timeout(options));
  return stdout;
}

/** Uploads `file` to `url` (STOR; with `resume`, APPE of what the server lacks: `-C -`). */
export async function curlFtpUpload(url: string, file: string, options: CurlFtpOptions & { resume?: boolean } = {}): Promise<void> {
  await curl([...curlFtpArgs(options), ...(options.resume ? ['-C', '-'] : []), '-T', file, url], timeout(options));
}

/** Downloads `url` to `outFile` (RETR; with `resume`, REST from the local file's size: `-C -`). */
export async function curlFtpDownload(url: string, outFile: string, options: CurlFtpOptions & { resume?: boolean } = {}): Promise<void> {
  await curl([...curlFtpArgs(options), ...(options.resume ? ['-C', '-'] : []), '-o', outFile, url], timeout(options));
}

/** Downloads `url` and hashes it as it streams. */
export async function curlFtpSha256(url: string, options: CurlFtpOptions = {}): Promise<{ sha256: string; bytes: number }> {
  const { sha256, bytes } = await curlSha256([...curlFtpArgs(options), url], timeout(options));
  return { sha256, bytes };
}
