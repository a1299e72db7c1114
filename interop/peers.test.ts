// The suite's own precondition: every peer is installed, and a missing one fails loudly.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { peer, requirePeers } from './peers.ts';

it('finds every interop peer (run bash scripts/install-peers.sh if this fails)', () => {
  requirePeers('curl', 'wrk', 'nginx', 'haproxy', 'taskset');
  assert.match(peer('nginx'), /\/nginx$/);
});

it('fails with the install command when a peer is missing', () => {
  assert.throws(() => peer('no-such-peer-xyz'), {
    message: "interop peer 'no-such-peer-xyz' is missing: run bash scripts/install-peers.sh",
  });
});
