/**
 * Which process holds each accepted connection, read from /proc (Linux): a connection's socket
 * inode appears in /proc/net/tcp (by its addresses) and as a `socket:[inode]` link in the fd table
 * of the process that accepted it. This is how a test proves that SO_REUSEPORT spread its
 * connections over several workers, without trusting the workers' own counters.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Socket inodes of a process's open file descriptors. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * For each client port (a connection from the test to `serverPort` on IPv4 loopback), the pid
 * among `pids` that holds the server side of it; absent when none does (closed, or not accepted).
 */
export async function ownersOfConnections(pids: readonly number[], serverPort: number, clientPorts: readonly number[]): Promise<Map<number, number>> {
  const wanted = new Set(clientPorts);
  const inodeOfClientPort = new Map<string, number>();
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const localPort = parseInt(fields[1]!.split(':')[1]!, 16);
    const remotePort = parseInt(fields[2]!.split(':')[1]!, 16);
    if (localPort === serverPort && wanted.has(remotePort)) inodeOfClientPort.set(fields[9]!, remotePort);
  }
  const owners = new Map<number, number>();
  for (const pid of pids) {
    for (const inode of await socketInodes(pid)) {
      const clientPort = inodeOfClientPort.get(inode);
      if (clientPort !== undefined) owners.set(clientPort, pid);
    }
  }
  return owners;
}
