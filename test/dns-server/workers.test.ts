// Two workers answer DNS at one address (SO_REUSEPORT): each binds its own UDP socket and TCP
// listener there and the kernel spreads clients over them by their address and port. The kernel's
// socket tables (/proc/net/udp, /proc/net/tcp) and each worker's open files say which process
// holds which socket, so the test sees both workers own sockets that answered.
import assert from 'node:assert/strict';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { answersOf, query, TcpClient, UdpClient } from './client.ts';
import { startDnsFulcrum, WWW, type DnsFulcrum } from './fixture.ts';

let dns: DnsFulcrum;

before(async () => {
  dns = await startDnsFulcrum({ fqdns: [WWW], workers: 2 });
  assert.equal(dns.fulcrum.workers.length, 2);
});

after(() => dns.stop());

interface KernelSocket {
  localPort: number;
  remotePort: number;
  /** 0A listening, 01 established (TCP); 07 for a UDP socket. */
  state: string;
  inode: number;
}

/** The IPv4 sockets bound to 127.0.0.1 in /proc/net/{tcp,udp}. */
async function kernelSockets(proto: 'tcp' | 'udp'): Promise<KernelSocket[]> {
  const text = await readFile(`/proc/net/${proto}`, 'utf8');
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1]!.startsWith('0100007F:'))
    .map((f) => ({ localPort: parseInt(f[1]!.split(':')[1]!, 16), remotePort: parseInt(f[2]!.split(':')[1]!, 16), state: f[3]!, inode: Number(f[9]) }));
}

/** Socket inode -> the pid (among `pids`) that holds it open. */
async function socketOwners(pids: readonly number[]): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) owners.set(Number(m[1]), pid);
    }
  }
  return owners;
}

describe('two workers, one DNS address', () => {
  it('each worker has its own UDP socket and TCP listener on the port', async () => {
    const workers = dns.fulcrum.workers;
    const owners = await socketOwners(workers);
    const udp = (await kernelSockets('udp')).filter((s) => s.localPort === dns.port);
    assert.deepEqual(udp.map((s) => owners.get(s.inode)).sort(), [...workers].sort(), 'one UDP socket per worker');
    const listeners = (await kernelSockets('tcp')).filter((s) => s.localPort === dns.port && s.state === '0A');
    assert.deepEqual(listeners.map((s) => owners.get(s.inode)).sort(), [...workers].sort(), 'one TCP listener per worker');
  });

  it('200 UDP queries from 200 source ports: every one answered (half would be lost if one worker did not answer)', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => UdpClient.open(dns.port)));
    try {
      assert.equal(new Set(clients.map((c) => c.localPort)).size, 200);
      const replies = await Promise.all(clients.map((client) => client.query(query('www.surveyor.lab'))));
      for (const reply of replies) assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.10']);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it('64 TCP connections: every one answered, and the connections that answered belong to both workers', async () => {
    const clients = await Promise.all(Array.from({ length: 64 }, () => TcpClient.connect(dns.port)));
    try {
      const replies = await Promise.all(clients.map((client) => client.query(query('www.surveyor.lab'))));
      for (const reply of replies) assert.deepEqual(answersOf(reply, 'A'), ['192.0.2.10']);
      // The server side of each connection: local port = the DNS port, remote = the client's.
      const clientPorts = new Set(clients.map((c) => c.localPort));
      const serverSides = (await kernelSockets('tcp')).filter((s) => s.localPort === dns.port && s.state === '01' && clientPorts.has(s.remotePort));
      assert.equal(serverSides.length, 64);
      const owners = await socketOwners(dns.fulcrum.workers);
      const byWorker = new Map<number, number>();
      for (const s of serverSides) {
        const pid = owners.get(s.inode);
        assert.ok(pid !== undefined, `connection from port ${s.remotePort} is held by a worker`);
        byWorker.set(pid, (byWorker.get(pid) ?? 0) + 1);
      }
      assert.equal(byWorker.size, 2, `connections by worker: ${JSON.stringify([...byWorker])}`);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});
