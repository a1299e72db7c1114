/**
 * http checks over a raw socket: write the request ourselves (see request.ts), read the status
 * line and at most 4 KiB of body (see response.ts), judge them against the spec. The transport is
 * a parameter so that https (probe-https.ts) is the same check over TLS.
 */
import { connect, type Socket } from 'node:net';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { HealthCheckConfig } from '../config/health-check.ts';
import { Attempt } from './attempt.ts';
import {
  bodyMismatchReason,
  formatLatency,
  incompleteReason,
  notHttpReason,
  socketErrorReason,
  statusReason,
  timeoutReason,
} from './reason.ts';
import { buildRequest } from './request.ts';
import { HEAD_LIMIT_BYTES, ResponseReader, type ResponseOutcome } from './response.ts';
import { checkTarget, formatStatusRanges, statusExpected } from './target.ts';
import type { ProbeResult } from './types.ts';

/** How a check reaches the server: a socket, the event after which it may send, and what to check before sending. */
export interface Transport {
  socket: Socket;
  readyEvent: 'connect' | 'secureConnect';
  /** Runs once ready, before the request: the reason the check fails (TLS verification), or null to go on. */
  inspect?: () => string | null;
  /** Words appended to a passing result (a certificate about to expire). */
  note?: () => string;
}

/** nginx's answer to plain HTTP on a TLS port. */
const PLAIN_TO_HTTPS = /plain HTTP request was sent to HTTPS port/i;

export type OpenTransport = (target: HostPort, attempt: Attempt) => Transport;

export function probeHttp(address: HostPort, check: HealthCheckConfig, signal?: AbortSignal): Promise<ProbeResult> {
  return runHttpCheck(address, check, signal, (target) => ({
    socket: connect({ host: target.host, port: target.port }),
    readyEvent: 'connect',
  }));
}

export function runHttpCheck(address: HostPort, check: HealthCheckConfig, signal: AbortSignal | undefined, open: OpenTransport): Promise<ProbeResult> {
  const target = checkTarget(address, check);
  const shown = formatAddress(target);
  const request = buildRequest(address, check);
  const expected = formatStatusRanges(check.expectStatus);
  const pattern = check.expectBody === null ? null : new RegExp(check.expectBody);
  // A 400 body is read too: nginx says there when plain HTTP reached its https port.
  const wantsBody = (status: number): boolean =>
    status === 400 || (pattern !== null && status >= 200 && status <= 299 && statusExpected(check.expectStatus, status));

  return new Promise((resolve) => {
    const reader = new ResponseReader({ head: check.method === 'HEAD', wantBody: wantsBody });
    const attempt = new Attempt(
      check.timeout,
      { target: shown, request: request.line, hostHeader: request.hostHeader },
      (phase) =>
        phase === 'body'
          ? `HTTP ${reader.status} but ${timeoutReason('body', check.timeout, shown, request.line)}`
          : timeoutReason(phase, check.timeout, shown, request.line),
      resolve,
      signal,
    );
    const transport = open(target, attempt);
    const { socket } = transport;
    attempt.attach(socket);

    const judge = (outcome: ResponseOutcome): void => {
      if (attempt.settled) return;
      switch (outcome.kind) {
        case 'not-http':
          return attempt.settle(false, notHttpReason(outcome.start, shown, request.line));
        case 'head-too-large':
          return attempt.settle(false, `the response head from ${shown} is larger than ${HEAD_LIMIT_BYTES / 1024} KiB; is this a health endpoint?`);
        case 'incomplete':
          return attempt.settle(false, incompleteReason(outcome.received, shown, request.line, check.type === 'http'));
        case 'response':
          break;
      }
      const { status, body } = outcome;
      attempt.detail.status = status;
      attempt.detail.bodyTested = pattern !== null && body !== null;
      if (!statusExpected(check.expectStatus, status)) {
        if (body !== null && PLAIN_TO_HTTPS.test(body.toString('latin1'))) {
          return attempt.settle(false, `HTTP ${status} to "${request.line}": ${shown} serves https ("The plain HTTP request was sent to HTTPS port"); use type https`);
        }
        return attempt.settle(false, statusReason(status, request.line, request.hostHeader, expected));
      }
      if (pattern !== null && body !== null && !pattern.test(body.toString('utf8'))) {
        return attempt.settle(false, bodyMismatchReason(check.expectBody ?? '', body));
      }
      const untested = pattern !== null && check.method === 'HEAD' ? ' (expectBody not tested: a HEAD response has no body; use GET)' : '';
      attempt.settle(true, `HTTP ${status} in ${formatLatency(attempt.elapsed())}${untested}${transport.note?.() ?? ''}`);
    };

    socket.once(transport.readyEvent, () => {
      const failure = transport.inspect?.() ?? null;
      if (failure !== null) return attempt.settle(false, failure);
      attempt.phase = 'response';
      socket.write(request.bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      const outcome = reader.push(chunk);
      if (outcome !== null) judge(outcome);
      else if (reader.status !== 0) attempt.phase = 'body';
    });
    socket.once('end', () => judge(reader.end()));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const phase = attempt.phase === 'body' ? 'response' : attempt.phase;
      attempt.settle(false, socketErrorReason(error, shown, target.host, phase));
    });
  });
}
