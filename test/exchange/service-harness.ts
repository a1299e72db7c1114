// One HTTP virtual service on a Listener, as a worker runs it, with its access log in memory:
// what the filter tests (filter-contract, body-filters) install their test-only filters on.
import { loadConfigText } from '../../src/config/load.ts';
import type { HttpFrontEnd } from '../../src/frontend/http-front-end.ts';
import { Listener } from '../../src/frontend/http-listener.ts';
import type { AccessRecord } from '../../src/log/access-log.ts';
import { EngineContext } from '../../src/worker/engine-context.ts';
import { freePort } from '../helpers/processes.ts';
import { serviceOf } from '../helpers/service.ts';
import { sleep } from '../l7/harness.ts';

export interface RunningService {
  listener: Listener;
  frontEnd: HttpFrontEnd;
  port: number;
  records: AccessRecord[];
  close(): Promise<void>;
}

/** `extra`: more YAML lines of the virtual service (four-space indent), e.g. `    retries: 1\n`. */
export async function startService(backends: string | readonly string[], extra = ''): Promise<RunningService> {
  const port = await freePort();
  const servers = (typeof backends === 'string' ? [backends] : backends).map((a) => `{ address: ${a} }`).join(', ');
  const loaded = loadConfigText(`virtualServices:\n  - name: web\n    listen: 127.0.0.1:${port}\n    protocol: http\n    realServers: [ ${servers} ]\n${extra}`, 'filters.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const ctx = new EngineContext();
  const records: AccessRecord[] = [];
  ctx.accessLog = { log: (r) => void records.push(r), logConnection: () => {}, close: async () => {} };
  const listener = new Listener(serviceOf(loaded.config, null, () => {}, undefined, ctx), { ctx, events: () => {}, worker: { index: 0, count: 1 } });
  await listener.listen();
  return {
    listener,
    frontEnd: listener.service.http!,
    port,
    records,
    close: async () => {
      const closed = listener.close();
      listener.destroyAll();
      await closed;
      listener.service.pool.retire();
    },
  };
}

/** Polls (5 ms) until `condition` holds; what it waits for is a socket's or a filter's doing, with no event to await. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
