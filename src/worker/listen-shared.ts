import type { Server } from 'node:net';

/**
 * Listen with SO_REUSEPORT, so that every worker process binds the same address and the kernel
 * spreads connections over them. Rejects with the bind error (EADDRINUSE, EACCES...).
 */
export function listenShared(server: Server, host: string, port: number, backlog = 4096): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, reusePort: true, backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
