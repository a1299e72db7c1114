import { pino, type Logger } from 'pino';

/**
 * The operational log: JSON lines on stderr (stdout belongs to the access log). pino, because it
 * is the fastest well-kept structured logger for Node and its format is what log shippers expect.
 */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ name, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}

export type { Logger };
