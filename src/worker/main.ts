import { createLogger } from '../log/logger.ts';
import type { FromWorker, ToWorker } from './messages.ts';
import { WorkerRuntime, workerIdentityFromEnv } from './runtime.ts';

/**
 * A worker process: runs the data path for every virtual service and takes its orders from the
 * supervisor over the IPC channel. Started by the supervisor with child_process.fork.
 */
const log = createLogger('fulcrum-worker');
const runtime = new WorkerRuntime((level, message, fields) => log[level](fields, message), workerIdentityFromEnv(), (message) => send(message));
// The supervisor starts workers with --expose-gc so the engine can bound dead read buffers (see
// COLLECT_EVERY_BYTES in engine-context.ts); `gc(true)` is a young-generation collection.
const gc = globalThis.gc;
if (gc !== undefined) runtime.ctx.collect = () => gc(true);

function send(message: FromWorker): void {
  process.send?.(message);
}

let applying: Promise<void> = Promise.resolve();

process.on('message', (message: ToWorker) => {
  if (message.type === 'apply') {
    // One config at a time, in the order sent: a restarted worker can be sent a reload's config
    // while it still applies the one it started with.
    applying = applying.then(() => runtime.apply(message.config, message.dnsSerial, message.workers)).then(
      () => send({ type: 'applied', generation: message.generation }),
      (err: NodeJS.ErrnoException) =>
        send({ type: 'apply-failed', generation: message.generation, error: err.message, code: err.code ?? 'FULCRUM_ERR_LISTEN' }),
    );
  } else if (message.type === 'limits') {
    runtime.onLimits(message);
  } else if (message.type === 'health') {
    runtime.setHealth(message.pool, message.server, message.up, message.reason);
  } else if (message.type === 'gslb') {
    runtime.setSites(message.fqdn, message.sites);
  } else if (message.type === 'agent') {
    runtime.setAgent(message.pool, message.server, message.verdict);
  } else if (message.type === 'ocsp') {
    // Advanced serialization brings a Buffer back as one; Buffer.from covers a plain Uint8Array all the same.
    runtime.setStaple(message.fingerprint, message.response === null ? null : { response: Buffer.from(message.response), expires: message.expires });
  } else if (message.type === 'stats') {
    send({ type: 'stats', id: message.id, data: runtime.stats() });
  } else if (message.type === 'drain') {
    void runtime.drain(message.graceMs).then((clean) => {
      send({ type: 'drained', clean });
      process.disconnect?.();
      process.exit(0);
    });
  }
});

// The supervisor owns the signals: a Ctrl-C in a terminal reaches the whole process group, and
// only the supervisor's drain order should stop a worker.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('SIGHUP', () => {});
// If the supervisor dies, do not linger as an orphan holding the ports.
process.on('disconnect', () => process.exit(0));

process.on('uncaughtException', (err) => {
  // Last line of defence: the connection-level handlers catch engine errors; log anything that
  // escapes and keep serving the other connections.
  log.error({ err }, 'uncaught exception in worker');
});
