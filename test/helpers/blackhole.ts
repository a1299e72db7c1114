import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * A loopback address where TCP connects hang, for connect-timeout tests without leaving the
 * machine: a child process listens with backlog 1 and never accepts (its event loop is blocked),
 * and we fill its accept queue; Linux then drops further SYNs, so a connect neither succeeds nor
 * fails until the client gives up.
 */
export interface Blackhole {
  address: string;
  close(): Promise<void>;
}

const CHILD_FLAG = '--fulcrum-blackhole-child';

if (process.argv.includes(CHILD_FLAG)) {
  const server = net.createServer();
  server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
    process.send?.((server.address() as net.AddressInfo).port);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
}

export async function startBlackhole(): Promise<Blackhole> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(m as number));
    child.once('exit', (code) => reject(new Error(`blackhole child exited (${code})`)));
  });
  // backlog 1 holds two completed connections; after those, SYNs are dropped.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = net.connect(port, '127.0.0.1');
    fillers.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of fillers) s.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
