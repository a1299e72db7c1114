/**
 * curl as a real FTP client peer, beside curl.ts: listing, upload, download and resume, in
 * passive or active mode, plain or explicit FTPS.
 */
import { run } from '../test/helpers/processes.ts';
import { curl, curlSha256 } from './curl.ts';
import { peer } from './peers.ts';

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
  /** The local address of every connection curl opens, control and data (--interface), e.g. "127.0.0.5": another client address on loopback. */
  interface?: string;
  timeoutMs?: number;
}

/** The curl arguments for `options`, ahead of the operation's own. */
export function curlFtpArgs(options: CurlFtpOptions = {}): string[] {
  const args = options.mode === 'active' ? ['--ftp-port', '-'] : ['--ftp-pasv'];
  if (options.extended === false) args.push('--disable-epsv', '--disable-eprt');
  if (options.tls) args.push('--ssl-reqd', '-k');
  if (options.interface !== undefined) args.push('--interface', options.interface);
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

export interface CurlFtpTrace {
  code: number | null;
  stdout: string;
  /** curl's -v trace: each command sent ("> PASV") and each reply line ("< 227 Entering Passive Mode (...)"). */
  stderr: string;
}

/**
 * Runs `curl -sS -v OPTIONS ARGS` and resolves with the exit code instead of rejecting, so that a
 * test can assert on the commands and replies the client saw, a failure's included.
 */
export async function curlFtpTrace(args: readonly string[], options: CurlFtpOptions = {}): Promise<CurlFtpTrace> {
  return run(peer('curl'), ['-sS', '-v', ...curlFtpArgs(options), ...args], { ...timeout(options), allowFailure: true });
}
