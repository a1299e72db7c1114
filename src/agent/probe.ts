/**
 * One poll of one real server's agent: read the reply, say nothing about what it means (that is
 * load-reply.ts and agent-reply.ts). Built from the health checks' pieces: Attempt (one deadline,
 * one socket, settles once), ResponseReader (status and the first 4 KiB of body) and their words
 * for network failures.
 */
import { connect } from 'node:net';
import { formatAddress, type HostPort } from '../config/address.ts';
import type { AdaptiveConfig } from '../config/adaptive.ts';
import { Attempt } from '../health/attempt.ts';
import { incompleteReason, notHttpReason, socketErrorReason, timeoutReason } from '../health/reason.ts';
import { HEAD_LIMIT_BYTES, ResponseReader, type ResponseOutcome } from '../health/response.ts';
import type { ProbeResult } from '../health/types.ts';
import type { PollResult } from './types.ts';

/** The shape the monitor calls; tests substitute their own. */
export type AgentProbe = (address: HostPort, spec: AdaptiveConfig, signal?: AbortSignal) => Promise<PollResult>;

/** An agent-check reply is one short line; HAProxy reads one buffer of it. More is not a reply. */
const AGENT_LINE_LIMIT_BYTES = 1024;

export const pollAgent: AgentProbe = (address, spec, signal) => (spec.type === 'http' ? pollLoad(address, spec, signal) : pollAgentCheck(address, spec, signal));

/** Where the agent answers: the real server's host, at `port` when set. */
export function agentTarget(address: HostPort, spec: AdaptiveConfig): HostPort {
  return { host: address.host, port: spec.port ?? address.port };
}

/** One line for the status view: what is polled where. */
export function describeAgent(address: HostPort, spec: AdaptiveConfig): string {
  const target = formatAddress(agentTarget(address, spec));
  if (spec.type === 'agent') return `agent-check (tcp) to ${target}`;
  return `GET ${spec.path} HTTP/1.1 to ${target}, Host: ${spec.host ?? formatAddress(address)}`;
}

function toPoll(result: ProbeResult, reply: string): PollResult {
  return result.ok ? { ok: true, latencyMs: result.latencyMs, reply } : { ok: false, latencyMs: result.latencyMs, reason: result.reason };
}

/** LoadMaster: GET path over HTTP/1.1, a 2xx answer's body is the reply. */
function pollLoad(address: HostPort, spec: AdaptiveConfig, signal?: AbortSignal): Promise<PollResult> {
  const target = agentTarget(address, spec);
  const shown = formatAddress(target);
  const line = `GET ${spec.path ?? '/load'} HTTP/1.1`;
  const host = spec.host ?? formatAddress(address);
  const request = `${line}\r\nHost: ${host}\r\nUser-Agent: fulcrum-agent\r\nAccept: text/plain\r\nConnection: close\r\n\r\n`;
  let reply = '';
  return new Promise<ProbeResult>((resolve) => {
    const reader = new ResponseReader({ head: false, wantBody: (status) => status >= 200 && status <= 299 });
    const attempt = new Attempt(spec.timeout, { target: shown, request: line, hostHeader: host }, (phase) => timeoutReason(phase === 'tls' ? 'connect' : phase, spec.timeout, shown, line), resolve, signal);
    const socket = connect({ host: target.host, port: target.port });
    attempt.attach(socket);
    const judge = (outcome: ResponseOutcome): void => {
      if (attempt.settled) return;
      switch (outcome.kind) {
        case 'not-http':
          return attempt.settle(false, notHttpReason(outcome.start, shown, line));
        case 'head-too-large':
          return attempt.settle(false, `the response head from ${shown} is larger than ${HEAD_LIMIT_BYTES / 1024} KiB; is this the load agent?`);
        case 'incomplete':
          return attempt.settle(false, incompleteReason(outcome.received, shown, line, true));
        case 'response':
          break;
      }
      if (outcome.status < 200 || outcome.status > 299) {
        return attempt.settle(false, `HTTP ${outcome.status} to "${line}" with Host: ${host} on ${shown} (expected 200 with the load 0-100 on the first line of the body)`);
      }
      if (outcome.body === null) return attempt.settle(false, `HTTP ${outcome.status} to "${line}" on ${shown} has no body; expected the load 0-100 on its first line`);
      reply = outcome.body.toString('utf8');
      attempt.settle(true, `HTTP ${outcome.status}`);
    };
    socket.once('connect', () => {
      attempt.phase = 'response';
      socket.write(request);
    });
    socket.on('data', (chunk: Buffer) => {
      const outcome = reader.push(chunk);
      if (outcome !== null) judge(outcome);
      else if (reader.status !== 0) attempt.phase = 'body';
    });
    socket.once('end', () => judge(reader.end()));
    socket.on('error', (error: NodeJS.ErrnoException) => attempt.settle(false, socketErrorReason(error, shown, target.host, attempt.phase === 'connect' ? 'connect' : 'response')));
  }).then((result) => toPoll(result, reply));
}

/** HAProxy agent-check: connect, send nothing, read one line (to LF, or to the close). */
function pollAgentCheck(address: HostPort, spec: AdaptiveConfig, signal?: AbortSignal): Promise<PollResult> {
  const target = agentTarget(address, spec);
  const shown = formatAddress(target);
  let reply = '';
  return new Promise<ProbeResult>((resolve) => {
    const attempt = new Attempt(spec.timeout, { target: shown }, (phase) => timeoutReason(phase === 'connect' ? 'connect' : 'response', spec.timeout, shown, null), resolve, signal);
    const socket = connect({ host: target.host, port: target.port });
    attempt.attach(socket);
    let received = Buffer.alloc(0);
    const finish = (): void => {
      if (attempt.settled) return;
      if (received.length === 0) return attempt.settle(false, `the agent on ${shown} closed the connection without a reply`);
      reply = received.toString('latin1');
      attempt.settle(true, 'reply read');
    };
    socket.once('connect', () => {
      attempt.phase = 'response';
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes(0x0a) || received.length >= AGENT_LINE_LIMIT_BYTES) finish();
    });
    socket.once('end', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => attempt.settle(false, socketErrorReason(error, shown, target.host, attempt.phase === 'connect' ? 'connect' : 'response')));
  }).then((result) => toPoll(result, reply));
}
