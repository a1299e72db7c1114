/**
 * vsftpd instances as FTP real servers for the Layer 4 interop tests: each runs in the foreground
 * from its own config file in a temp dir, listens on one loopback address (any of 127.0.0.0/8, so
 * several instances can share a port number), takes anonymous logins without a password and lets
 * them upload into `ROOT/upload`. Nothing under /etc/vsftpd.conf, /var/log or /srv/ftp is used.
 *
 * vsftpd must be started as root (it chroots each anonymous session into ROOT and drops to the
 * `ftp` user that Debian's package creates), as it is in CI and on the interop machines.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, startProcess, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface VsftpdTls {
  certFile: string;
  keyFile: string;
  /** Refuse plain logins and plain data connections (force_anon_logins_ssl, force_anon_data_ssl). Default false: explicit FTPS is offered, not required. */
  force?: boolean;
  /**
   * Highest TLS version vsftpd negotiates; default TLSv1.2. vsftpd 3.0.3 (Debian 12) loses the end
   * of TLS 1.3 uploads ("426 Failure reading network stream", a partial file; lftp hits it on
   * every 1 MiB upload), a known vsftpd bug and not a proxy's fault.
   */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface VsftpdOptions {
  /** Listen address, e.g. "127.0.0.2". */
  address: string;
  port: number;
  /**
   * The anonymous root, a temp dir the test fills (files must be readable by the `ftp` user: the
   * default 0644 is). Made 0555, as vsftpd refuses a chroot its user can write to, and given a
   * world-writable `upload/` subdirectory, where uploads go.
   */
  root: string;
  /** pasv_min_port..pasv_max_port; the passive listener binds to the control connection's local address, so instances on different addresses can share a range. */
  passivePorts: { first: number; last: number };
  /** The address a 227 reply announces (pasv_address); default: vsftpd's own. For port-following tests, the virtual service's address. */
  pasvAddress?: string;
  /** Explicit FTPS (AUTH TLS) with this certificate. */
  tls?: VsftpdTls;
  /** Anonymous uploads, mkdir, overwrite and resume in `upload/`. Always on: the suite needs them. */
  writable: true;
  /**
   * Allow data connections whose peer is not the control connection's peer (pasv_promiscuous and
   * port_promiscuous). Default false, vsftpd's own default, which a proxy that opens the data
   * connection from another address than the control connection trips over.
   */
  promiscuous?: boolean;
}

export interface Vsftpd {
  address: string;
  port: number;
  /** "ftp://ADDRESS:PORT" */
  url: string;
  root: string;
  /** ROOT/upload, writable by anonymous sessions; "/upload/" in FTP paths. */
  uploadDir: string;
  configFile: string;
  /** vsftpd's log: every FTP command and reply, and a line per transfer ("OK UPLOAD: Client ..."). Read it before stop(), which removes it. */
  logFile: string;
  proc: ManagedProcess;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export function vsftpdConfig(options: VsftpdOptions, files: { emptyDir: string; logFile: string }): string {
  const lines = [
    // standalone, in the foreground, so that the test owns the process
    'listen=YES',
    'listen_ipv6=NO',
    'background=NO',
    `listen_address=${options.address}`,
    `listen_port=${options.port}`,
    // anonymous only, no password, uploads allowed (anon_umask 022: an upload can be downloaded back)
    'anonymous_enable=YES',
    'local_enable=NO',
    'no_anon_password=YES',
    `anon_root=${options.root}`,
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    'anon_world_readable_only=NO',
    // passive range and the announced address
    'pasv_enable=YES',
    `pasv_min_port=${options.passivePorts.first}`,
    `pasv_max_port=${options.passivePorts.last}`,
    ...(options.pasvAddress !== undefined ? [`pasv_address=${options.pasvAddress}`] : []),
    // active mode from an ephemeral port: port 20 would clash between instances
    'port_enable=YES',
    'connect_from_port_20=NO',
    `pasv_promiscuous=${options.promiscuous ? 'YES' : 'NO'}`,
    `port_promiscuous=${options.promiscuous ? 'YES' : 'NO'}`,
    // containers: no seccomp filter, no new PID or network namespace per session
    'seccomp_sandbox=NO',
    'isolate=NO',
    'isolate_network=NO',
    `secure_chroot_dir=${files.emptyDir}`,
    'tcp_wrappers=NO',
    'max_clients=0',
    'max_per_ip=0',
    'dirmessage_enable=NO',
    // one log with the protocol and the transfers, no syslog
    'syslog_enable=NO',
    'xferlog_enable=YES',
    'xferlog_std_format=NO',
    'log_ftp_protocol=YES',
    `vsftpd_log_file=${files.logFile}`,
  ];
  if (options.tls) {
    const force = options.tls.force ? 'YES' : 'NO';
    lines.push(
      'ssl_enable=YES',
      'allow_anon_ssl=YES',
      `force_anon_logins_ssl=${force}`,
      `force_anon_data_ssl=${force}`,
      `rsa_cert_file=${options.tls.certFile}`,
      `rsa_private_key_file=${options.tls.keyFile}`,
      // vsftpd's default asks clients to resume the control connection's TLS session on each data
      // connection; not every client does, and the suite tests the proxy, not session caching.
      'require_ssl_reuse=NO',
      'ssl_request_cert=NO',
    );
  }
  return `${lines.join('\n')}\n`;
}

// OpenSSL reads the cap on the TLS version from its config file; vsftpd 3.0.3 has no option for it.
function opensslConfig(maxVersion: string): string {
  return `openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MaxProtocol = ${maxVersion}
`;
}

export async function startVsftpd(options: VsftpdOptions): Promise<Vsftpd> {
  const bin = peer('vsftpd');
  if (process.getuid?.() !== 0) {
    throw new Error('vsftpd must be started as root (it chroots anonymous sessions): run the interop suite as root, as CI does');
  }
  // Another server's greeting on the same address and port would pass for this one's.
  if (!(await canListen(options.address, options.port))) throw new Error(`vsftpd: ${options.address}:${options.port} is already in use`);
  const dir = await mkdtemp(path.join(tmpdir(), `vsftpd-${options.address}-${options.port}-`));
  const emptyDir = path.join(dir, 'empty');
  const logFile = path.join(dir, 'vsftpd.log');
  const configFile = path.join(dir, 'vsftpd.conf');
  const uploadDir = path.join(options.root, 'upload');
  await mkdir(emptyDir);
  await chmod(emptyDir, 0o555);
  await mkdir(uploadDir, { recursive: true });
  await chmod(uploadDir, 0o777);
  await chmod(options.root, 0o555);
  const config = vsftpdConfig(options, { emptyDir, logFile });
  await writeFile(configFile, config);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.tls) {
    const opensslFile = path.join(dir, 'openssl.cnf');
    await writeFile(opensslFile, opensslConfig(options.tls.maxVersion ?? 'TLSv1.2'));
    env['OPENSSL_CONF'] = opensslFile;
  }
  const proc = startProcess(`vsftpd ${options.address}:${options.port}`, bin, [configFile], { env });
  try {
    await waitForBanner(options.address, options.port, proc, 10_000);
  } catch (err) {
    await proc.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nvsftpd.conf:\n${config}`);
  }
  return {
    address: options.address,
    port: options.port,
    url: `ftp://${options.address}:${options.port}`,
    root: options.root,
    uploadDir,
    configFile,
    logFile,
    proc,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    stop: async () => {
      // Each session's processes die with the listener (vsftpd sets PR_SET_PDEATHSIG on them).
      await proc.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once a connection to host:port reads an FTP "220" greeting; rejects if `proc` exits first or after `timeoutMs`. */
export async function waitForBanner(host: string, port: number, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  let last = '';
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited before greeting on ${host}:${port}\n${proc.output.stderr}${proc.output.stdout}`);
    last = await readGreeting(host, port);
    if (last.startsWith('220')) return;
    if (Date.now() > deadline) throw new Error(`no FTP greeting from ${host}:${port} after ${timeoutMs} ms (last: ${last || 'nothing'})\n${proc.output.stderr}`);
    // Nothing to await but the listener's appearance: poll at a short, bounded interval.
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The first line a server sends on a fresh connection, or '' when the connection fails. */
function readGreeting(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setEncoding('utf8');
    let text = '';
    const done = (): void => {
      socket.destroy();
      resolve(text.split('\r\n')[0] ?? '');
    };
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) done();
    });
    socket.once('error', done);
    socket.once('close', done);
  });
}

/**
 * `count` consecutive TCP ports that were free a moment ago on every address in `hosts`, for a
 * passive range. Drawn from 20000-31999, below Linux's ephemeral range (32768-60999), so that no
 * client's outgoing connection takes one meanwhile.
 */
export async function freePortRange(count: number, hosts: readonly string[] = ['127.0.0.1']): Promise<{ first: number; last: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let free = true;
    for (let port = first; free && port < first + count; port++) {
      for (const host of hosts) {
        if (!(await canListen(host, port))) {
          free = false;
          break;
        }
      }
    }
    if (free) return { first, last: first + count - 1 };
  }
  throw new Error(`no ${count} consecutive free ports on ${hosts.join(', ')}`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A self-signed certificate and key for CN=ftp.test, valid two days, in `dir`. */
export async function makeCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, 'ftp.test.crt');
  const keyFile = path.join(dir, 'ftp.test.key');
  await run(peer('openssl'), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ftp.test', '-keyout', keyFile, '-out', certFile], {
    timeoutMs: 30_000,
  });
  return { certFile, keyFile };
}
