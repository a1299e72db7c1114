/**
 * A scripted FTP server for hermetic tests: enough of RFC 959 (and 2428, 3659's SIZE and REST)
 * for a client to log in, list, download, upload and resume over passive or active data
 * connections, with in-memory files. It behaves like vsftpd where that matters to a load
 * balancer: a passive data connection must come from the control connection's address
 * (pasv_promiscuous=NO), and it can announce another address than its own in 227 (pasv_address).
 * After AUTH it answers 234 and then echoes raw bytes, standing in for a TLS handshake that no
 * one in the middle could read.
 */
import { once } from 'node:events';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';

export interface FtpServerOptions {
  /** Address to listen on (e.g. 127.0.0.2 for a second server on loopback); default 127.0.0.1. */
  host?: string;
  /** Named in the greeting: "220 <name> ready". */
  name?: string;
  /** The address a 227 announces; default the control connection's local address. */
  announce?: string;
  /** Passive ports to pick from (port-following tests); default any free port. */
  passivePorts?: { first: number; last: number };
  /** Write each reply in two pieces a few ms apart: replies cut across TCP segments. */
  splitReplies?: boolean;
  /** Answer PASV with a multi-line 227 ("227-…" then "227 …"). */
  multiLinePasv?: boolean;
  /** Refuse passive data connections from another address than the control connection's (vsftpd's default). */
  strictDataPeer?: boolean;
}

export interface DataConnectionRecord {
  mode: 'passive' | 'active';
  /** Passive: the address that connected; active: the address and port the server connected to. */
  peer: string;
}

export interface ScriptedFtpServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** "host:port", for a config's realServers. */
  readonly address: string;
  readonly files: Map<string, Buffer>;
  /** Every command line received, in order, across sessions. */
  readonly commands: string[];
  /** The remote address of each control connection. */
  readonly controlPeers: string[];
  readonly dataConnections: DataConnectionRecord[];
  /** Ports this server announced in 227/229, in order. */
  readonly announcedPorts: number[];
  /** Bytes echoed after AUTH (the stand-in for TLS). */
  echoedBytes: number;
  close(): Promise<void>;
}

interface Session {
  control: Socket;
  /** A passive listener and the connection it accepted (or will). */
  passive: { server: Server; socket: Promise<Socket> } | null;
  active: { host: string; port: number } | null;
  rest: number;
}

export async function startFtpServer(options: FtpServerOptions = {}): Promise<ScriptedFtpServer> {
  const host = options.host ?? '127.0.0.1';
  const name = options.name ?? `ftp-${host}`;
  const files = new Map<string, Buffer>();
  const commands: string[] = [];
  const controlPeers: string[] = [];
  const dataConnections: DataConnectionRecord[] = [];
  const announcedPorts: number[] = [];
  const sockets = new Set<Socket>();
  const passiveServers = new Set<Server>();
  let nextPassive = options.passivePorts?.first ?? 0;

  const server = net.createServer({ allowHalfOpen: false }, (control) => {
    sockets.add(control);
    control.on('close', () => sockets.delete(control));
    control.on('error', () => {});
    controlPeers.push(control.remoteAddress ?? '');
    const session: Session = { control, passive: null, active: null, rest: 0 };
    let pending = '';
    let busy = false;
    let echo = false;
    let writes = Promise.resolve();
    const lines: string[] = [];

    const reply = (text: string): Promise<void> => {
      writes = writes.then(async () => {
        if (control.destroyed) return;
        if (!options.splitReplies || text.length < 4) {
          control.write(text, 'latin1');
          return;
        }
        const cut = Math.floor(text.length / 2);
        control.write(text.slice(0, cut), 'latin1');
        await new Promise((r) => setTimeout(r, 15));
        if (!control.destroyed) control.write(text.slice(cut), 'latin1');
      });
      return writes;
    };

    const run = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (lines.length > 0 && !control.destroyed) {
        const line = lines.shift()!;
        commands.push(line);
        await handle(line);
      }
      busy = false;
    };

    const handle = async (line: string): Promise<void> => {
      const space = line.indexOf(' ');
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const arg = space === -1 ? '' : line.slice(space + 1);
      switch (verb) {
        case 'USER':
          return reply('331 Please specify the password.\r\n');
        case 'PASS':
          return reply('230 Login successful.\r\n');
        case 'TYPE':
          return reply('200 Switching to Binary mode.\r\n');
        case 'SYST':
          return reply('215 UNIX Type: L8\r\n');
        case 'NOOP':
          return reply('200 NOOP ok.\r\n');
        case 'PWD':
          return reply('257 "/" is the current directory\r\n');
        case 'FEAT':
          return reply('211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n REST STREAM\r\n SIZE\r\n211 End\r\n');
        case 'HELP':
          // A continuation line that looks like a 227 reply: part of the 214 reply, never rewritten.
          return reply('214-The following is not a passive reply:\r\n227 Entering Passive Mode (10,0,0,9,4,1).\r\n214 Help OK.\r\n');
        case 'PASV':
        case 'EPSV': {
          const port = await openPassive(session);
          announcedPorts.push(port);
          if (verb === 'EPSV') return reply(`229 Entering Extended Passive Mode (|||${port}|)\r\n`);
          const announce = (options.announce ?? control.localAddress ?? host).replace(/^::ffff:/, '');
          const tuple = `${announce.replaceAll('.', ',')},${port >> 8},${port & 255}`;
          if (options.multiLinePasv) return reply(`227-Entering Passive Mode (${tuple}).\r\n227 OK\r\n`);
          return reply(`227 Entering Passive Mode (${tuple}).\r\n`);
        }
        case 'PORT': {
          const n = arg.split(',').map(Number);
          session.active = { host: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]! };
          return reply('200 PORT command successful. Consider using PASV.\r\n');
        }
        case 'EPRT': {
          const parts = arg.split(arg[0] ?? '|');
          session.active = { host: parts[2]!, port: Number(parts[3]) };
          return reply('200 EPRT command successful. Consider using EPSV.\r\n');
        }
        case 'REST':
          session.rest = Number(arg);
          return reply(`350 Restart position accepted (${session.rest}).\r\n`);
        case 'SIZE': {
          const file = files.get(arg);
          return reply(file === undefined ? '550 Could not get file size.\r\n' : `213 ${file.length}\r\n`);
        }
        case 'LIST':
        case 'NLST': {
          const listing = [...files].map(([n, b]) => `-rw-r--r--    1 ftp      ftp      ${String(b.length).padStart(10)} Jan 01 00:00 ${n}\r\n`).join('');
          return transfer(session, '150 Here comes the directory listing.\r\n', '226 Directory send OK.\r\n', async (data) => {
            data.end(listing);
          });
        }
        case 'RETR': {
          const file = files.get(arg);
          if (file === undefined) return reply('550 Failed to open file.\r\n');
          const from = session.rest;
          session.rest = 0;
          return transfer(session, `150 Opening BINARY mode data connection for ${arg} (${file.length} bytes).\r\n`, '226 Transfer complete.\r\n', async (data) => {
            data.end(file.subarray(from));
          });
        }
        case 'STOR': {
          const from = session.rest;
          session.rest = 0;
          return transfer(session, '150 Ok to send data.\r\n', '226 Transfer complete.\r\n', async (data) => {
            const chunks: Buffer[] = [];
            data.on('data', (c: Buffer) => chunks.push(c));
            await once(data, 'end');
            const head = from > 0 ? (files.get(arg) ?? Buffer.alloc(0)).subarray(0, from) : Buffer.alloc(0);
            files.set(arg, Buffer.concat([head, ...chunks]));
            data.end();
          });
        }
        case 'AUTH':
          await reply('234 Proceed with negotiation.\r\n');
          echo = true;
          return;
        case 'QUIT':
          await reply('221 Goodbye.\r\n');
          control.end();
          return;
        default:
          return reply('502 Command not implemented.\r\n');
      }
    };

    const transfer = async (s: Session, start: string, end: string, body: (data: Socket) => Promise<void>): Promise<void> => {
      let data: Socket;
      try {
        data = await dataConnection(s);
      } catch {
        return reply("425 Can't open data connection.\r\n");
      }
      await reply(start);
      await body(data);
      if (!data.destroyed && !data.writableFinished) await once(data, 'finish');
      await reply(end);
    };

    control.on('data', (chunk: Buffer) => {
      if (echo) {
        scripted.echoedBytes += chunk.length;
        control.write(chunk);
        return;
      }
      pending += chunk.toString('latin1');
      let lf: number;
      while ((lf = pending.indexOf('\n')) !== -1) {
        lines.push(pending.slice(0, lf).replace(/\r$/, ''));
        pending = pending.slice(lf + 1);
        // The rest of this chunk after AUTH is the handshake, not commands.
        if (/^AUTH\b/i.test(lines[lines.length - 1]!)) {
          const rest = Buffer.from(pending, 'latin1');
          pending = '';
          void run().then(() => {
            if (rest.length > 0) {
              scripted.echoedBytes += rest.length;
              control.write(rest);
            }
          });
          return;
        }
      }
      void run();
    });
    void reply(`220 ${name} ready\r\n`);
  });

  const openPassive = async (s: Session): Promise<number> => {
    s.passive?.server.close();
    const passive = net.createServer({ allowHalfOpen: true });
    passiveServers.add(passive);
    const range = options.passivePorts;
    for (;;) {
      const port = range === undefined ? 0 : nextPassive;
      if (range !== undefined) nextPassive = nextPassive >= range.last ? range.first : nextPassive + 1;
      passive.listen({ host, port });
      const [result] = await Promise.race([once(passive, 'listening').then(() => ['ok']), once(passive, 'error').then(([e]) => [e])]);
      if (result === 'ok') break;
      if (range === undefined) throw result;
    }
    const control = s.control;
    const socket = new Promise<Socket>((resolve) => {
      passive.on('connection', (data: Socket) => {
        data.on('error', () => {});
        sockets.add(data);
        data.on('close', () => sockets.delete(data));
        const peer = (data.remoteAddress ?? '').replace(/^::ffff:/, '');
        if (options.strictDataPeer !== false && peer !== (control.remoteAddress ?? '').replace(/^::ffff:/, '')) {
          data.destroy();
          return;
        }
        dataConnections.push({ mode: 'passive', peer });
        passive.close();
        passiveServers.delete(passive);
        resolve(data);
      });
    });
    s.passive = { server: passive, socket };
    s.active = null;
    return (passive.address() as AddressInfo).port;
  };

  const dataConnection = async (s: Session): Promise<Socket> => {
    if (s.passive !== null) {
      const { socket } = s.passive;
      s.passive = null;
      return await Promise.race([socket, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no data connection')), 5000).unref())]);
    }
    if (s.active !== null) {
      const { host: to, port } = s.active;
      s.active = null;
      const data = net.connect({ host: to, port, allowHalfOpen: true });
      sockets.add(data);
      data.on('close', () => sockets.delete(data));
      await once(data, 'connect');
      data.on('error', () => {});
      dataConnections.push({ mode: 'active', peer: `${to}:${port}` });
      return data;
    }
    throw new Error('no PORT or PASV');
  };

  server.listen({ host, port: 0 });
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const scripted: ScriptedFtpServer = {
    name,
    host,
    port,
    address: `${host}:${port}`,
    files,
    commands,
    controlPeers,
    dataConnections,
    announcedPorts,
    echoedBytes: 0,
    async close() {
      for (const p of passiveServers) p.close();
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  return scripted;
}
