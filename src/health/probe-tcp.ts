/**
 * tcp checks: a connection that opens within the timeout is healthy. Nothing is sent; the
 * connection is closed at once.
 */
import { connect } from 'node:net';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { Attempt } from './attempt.ts';
import { formatLatency, socketErrorReason, timeoutReason } from './reason.ts';
import { checkTarget } from './target.ts';
import type { ProbeResult } from './types.ts';

export function probeTcp(address: HostPort, check: HealthCheckConfig, signal?: AbortSignal): Promise<ProbeResult> {
  const target = checkTarget(address, check);
  const shown = formatAddress(target);
  return new Promise((resolve) => {
    const attempt = new Attempt(check.timeout, { target: shown }, (phase) => timeoutReason(phase, check.timeout, shown, null), resolve, signal);
    const socket = connect({ host: target.host, port: target.port });
    attempt.attach(socket);
    socket.once('connect', () => attempt.settle(true, `connected in ${formatLatency(attempt.elapsed())}`));
    socket.once('error', (error) => attempt.settle(false, socketErrorReason(error, shown, target.host, 'connect')));
  });
}
