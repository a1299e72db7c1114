/**
 * lftp as a real FTP client peer: `lftp -c SCRIPT` with settings that make a test fail fast and
 * say why (one retry, 10 s network timeout, stop at the first failed command).
 */
import { run } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface LftpOptions {
  /** PASV (default true) or PORT data connections. lftp sends PASV, never EPSV, unless told to prefer it. */
  passive?: boolean;
  /**
   * 'off' (default): plain FTP, AUTH TLS never tried. 'force': AUTH TLS before the anonymous
   * login (lftp skips TLS for anonymous logins unless `ftp:ssl-allow-anonymous` says otherwise),
   * protected data connections, the certificate not verified (the suite's is self-signed).
   */
  tls?: 'off' | 'force';
  /** Kill lftp after this long (default 60 s). */
  timeoutMs?: number;
  /** Working directory: relative local paths in `put`/`get` resolve against it. */
  cwd?: string;
}

export interface LftpResult {
  stdout: string;
  stderr: string;
  /** 0 when every command succeeded (cmd:fail-exit stops at the first that failed). */
  code: number | null;
}

/** The `set` commands that precede every script. */
export function lftpSettings(options: LftpOptions = {}): string {
  const settings = [
    'set cmd:fail-exit yes',
    'set net:max-retries 1',
    'set net:timeout 10',
    'set net:reconnect-interval-base 1',
    'set dns:order inet',
    'set xfer:clobber yes',
    `set ftp:passive-mode ${options.passive === false ? 'off' : 'on'}`,
    'set ftp:prefer-epsv no',
  ];
  if (options.tls === 'force') {
    settings.push(
      'set ftp:ssl-allow yes',
      'set ftp:ssl-force yes',
      'set ftp:ssl-allow-anonymous yes',
      'set ftp:ssl-protect-data yes',
      'set ftp:ssl-protect-list yes',
      'set ssl:verify-certificate no',
    );
  } else {
    settings.push('set ftp:ssl-allow no');
  }
  return settings.join('; ');
}

/**
 * Runs `lftp -c "SETTINGS; SCRIPT"`, e.g. `lftp('open ftp://127.0.0.2:2121; put big.bin -o upload/big.bin')`.
 * Resolves with the exit code instead of rejecting, so that a test can assert on a failure.
 */
export async function lftp(script: string, options: LftpOptions = {}): Promise<LftpResult> {
  return run(peer('lftp'), ['-c', `${lftpSettings(options)}; ${script}`], {
    timeoutMs: options.timeoutMs ?? 60_000,
    allowFailure: true,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
}
