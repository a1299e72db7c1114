// The wire for real: a forked worker (serialization: 'advanced', as the supervisor forks them)
// asks the authority in this process over the IPC channel.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LimitAuthority } from '../../src/limits/authority.ts';
import type { LimitsToAuthority } from '../../src/limits/protocol.ts';

const WORKER = fileURLToPath(new URL('./fixtures/ipc-worker.ts', import.meta.url));

describe('real IPC', () => {
  it('carries one turn of 300 asks in one message and the answer back', async () => {
    const authority = new LimitAuthority({ workers: 2 });
    authority.configure([{ id: 'web/perClient', kind: 'rate', rate: 10, burst: 100, maxKeys: 100 }]);
    const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const received: LimitsToAuthority[] = [];
    try {
      const result = new Promise<unknown>((resolve, reject) => {
        child.on('message', (message: LimitsToAuthority | { type: 'result' }) => {
          if (message.type === 'result') resolve(message);
          else {
            received.push(message);
            const answer = authority.receive(1, message, 0);
            if (answer !== null) child.send(answer);
          }
        });
        child.once('exit', (code) => reject(new Error(`the worker exited (${code})`)));
      });
      child.send({ type: 'go' });
      assert.deepEqual(await result, { type: 'result', allowed: 100, denied: 200, retryAfters: [100], messages: 1 });
      assert.equal(received.length, 1);
      assert.deepEqual(received[0]!.askWants, [300]);
    } finally {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    }
  });
});
