import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Config } from '../config/schema.ts';
import { formatAddress } from '../config/address.ts';
import { transportOf } from '../config/service-fields.ts';

/**
 * Workers listen with SO_REUSEPORT, and Linux lets any process of the same user join such a
 * socket: a second Fulcrum started by mistake on the same address would silently take half the
 * connections (the duplicate-address pain Windows NLB users know). So before the workers bind, the
 * supervisor binds each new address once *without* SO_REUSEPORT: that fails with EADDRINUSE when
 * anyone already holds it, and we refuse with a message that says who to look for.
 */
export async function probeAddresses(config: Config, alreadyOurs: ReadonlySet<string>): Promise<string[]> {
  const problems: string[] = [];
  for (const vs of config.virtualServices) {
    const key = probeKey(vs);
    if (alreadyOurs.has(key)) continue;
    const error = vs.protocol === 'udp' ? await tryBindUdp(vs.listen.host, vs.listen.port) : await tryBind(vs.listen.host, vs.listen.port);
    if (error !== null) problems.push(`virtual service "${vs.name}" cannot listen on ${formatAddress(vs.listen)}${vs.protocol === 'udp' ? '/udp' : ''}: ${error}`);
  }
  for (const address of config.gslb?.listen ?? []) {
    for (const transport of ['udp', 'tcp'] as const) {
      if (alreadyOurs.has(`${transport} ${formatAddress(address)}`)) continue;
      const error = transport === 'udp' ? await tryBindUdp(address.host, address.port) : await tryBind(address.host, address.port);
      if (error !== null) problems.push(`the DNS server (gslb.listen) cannot listen on ${formatAddress(address)}/${transport}: ${error}`);
    }
  }
  return problems;
}

function tryBind(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRINUSE' ? 'the address is already in use by another process (another Fulcrum, or another server)' : `${err.code ?? err.message}`),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function tryBindUdp(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err.code === 'EADDRINUSE' ? 'the UDP address is already in use by another process (another Fulcrum, or a DNS or syslog server)' : `${err.code ?? err.message}`);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(null)));
  });
}

function probeKey(vs: Config['virtualServices'][number]): string {
  return `${transportOf(vs)} ${formatAddress(vs.listen)}`;
}

export function listenKeys(config: Config): Set<string> {
  const dns = (config.gslb?.listen ?? []).flatMap((address) => [`udp ${formatAddress(address)}`, `tcp ${formatAddress(address)}`]);
  return new Set([...config.virtualServices.map(probeKey), ...dns]);
}
