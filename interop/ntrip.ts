/**
 * RTKLIB's str2str (Debian rtklib 2.4.3 b34) as the NTRIP peers: an NTRIP 1.0 server pushing a
 * stream to a caster (`-out ntrips://:PASSWORD@HOST:PORT/MOUNT`, input from stdin) and an NTRIP
 * 1.0 client (`-in ntrip://[USER:PASSWORD@]HOST:PORT/MOUNT`, output to stdout or a file). With no
 * `#format` str2str relays bytes untouched. The caster is ntrip-caster.ts (see there why).
 *
 * str2str says nothing on stdout or stderr when the caster accepts it, so each instance traces at
 * level 3 to its stderr (`-t 3 -fl /dev/stderr`, a few dozen lines a second) and the harness
 * waits for RTKLIB's "response ok". Bytes a server reads before the caster has answered are lost
 * (str2str drops them), so the input goes in only after that line.
 */
import { EventEmitter, once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startProcess, type Exit, type ManagedProcess } from '../test/helpers/processes.ts';
import { peer } from './peers.ts';

export interface NtripServerOptions {
  /** "HOST:PORT" of the caster, or of the virtual service in front of it. */
  caster: string;
  mount: string;
  /** The SOURCE password (default "letmein"). */
  password?: string;
  /** Pushed once the caster has accepted the source. */
  inputFile?: string;
  /** How long to wait for the caster's OK (default 10 s). */
  timeoutMs?: number;
}

export interface NtripServer {
  proc: ManagedProcess;
  /** Bytes handed to str2str so far. */
  readonly sent: number;
  /** Pushes more of the stream; resolves once str2str's stdin took it. */
  send(data: Uint8Array): Promise<void>;
  stop(): Promise<Exit>;
}

export interface NtripClientOptions {
  /** "HOST:PORT" of the caster, or of the virtual service in front of it. */
  caster: string;
  mount: string;
  user?: string;
  password?: string;
  /** How long to wait for the caster's OK (default 10 s). */
  timeoutMs?: number;
}

export interface NtripClient {
  proc: ManagedProcess;
  /** Bytes of stream received so far. */
  readonly bytes: number;
  received(): Buffer;
  /** Resolves with everything received once at least `count` bytes have arrived. */
  waitForBytes(count: number, timeoutMs?: number): Promise<Buffer>;
  stop(): Promise<Exit>;
}

// -r: reconnect after 1 s, not 10, when the caster (or a balancer in front) is not up yet.
// -s 0: no inactivity timeout; str2str would otherwise drop and redo a connection silent for 10 s.
const COMMON = ['-r', '1000', '-s', '0', '-t', '3', '-fl', '/dev/stderr'];

function credentials(user: string | undefined, password: string | undefined): string {
  if (user === undefined && password === undefined) return '';
  return `${user ?? ''}:${password ?? ''}@`;
}

/** Resolves once `proc`'s trace has `marker`; rejects if it exits first or after `timeoutMs`. */
async function traced(proc: ManagedProcess, marker: string, timeoutMs: number, events: EventEmitter): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
    events.emit('stderr');
  });
  try {
    while (!proc.output.stderr.includes(marker)) {
      if (exited) throw new Error('exited');
      await once(events, 'stderr', { signal });
    }
  } catch (err) {
    const why = (err as Error).message === 'exited' ? 'exited' : `not within ${timeoutMs} ms`;
    await proc.stop('SIGKILL');
    throw new Error(`${proc.name}: no "${marker}" from the caster (${why})\n${proc.output.stderr.split('\n').slice(-30).join('\n')}`);
  }
}

/** Starts str2str as an NTRIP server and resolves once the caster answered OK (and `inputFile`, if any, is handed over). */
export async function startNtripServer(options: NtripServerOptions): Promise<NtripServer> {
  const events = new EventEmitter();
  const url = `ntrips://:${options.password ?? 'letmein'}@${options.caster}/${options.mount.replace(/^\//, '')}`;
  // No -in: str2str reads stdin.
  const proc = startProcess(`str2str ${url}`, peer('str2str'), ['-out', url, ...COMMON], {
    stdio: ['pipe', 'pipe', 'pipe'],
    onStderr: () => events.emit('stderr'),
  });
  await traced(proc, 'rspntrip_s: response ok', options.timeoutMs ?? 10_000, events);
  const stdin = proc.child.stdin as Writable;
  stdin.on('error', () => {
    // str2str gone: stop() reports how it exited
  });
  let sent = 0;
  const server: NtripServer = {
    proc,
    get sent() {
      return sent;
    },
    send: async (data) => {
      await new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
      sent += data.length;
    },
    stop: async () => {
      // End of input, then the signal str2str stops on (it exits 0).
      stdin.end();
      return proc.stop('SIGTERM', 3000);
    },
  };
  if (options.inputFile !== undefined) {
    const { size } = await stat(options.inputFile);
    await pipeline(createReadStream(options.inputFile), stdin, { end: false });
    sent += size;
  }
  return server;
}

/** Starts str2str as an NTRIP client writing the stream to its stdout, and resolves once the caster answered OK. */
export async function startNtripClient(options: NtripClientOptions): Promise<NtripClient> {
  const events = new EventEmitter();
  const url = `ntrip://${credentials(options.user, options.password)}${options.caster}/${options.mount.replace(/^\//, '')}`;
  const chunks: Buffer[] = [];
  let bytes = 0;
  // No -out: str2str writes stdout, flushed as it goes.
  const proc = startProcess(`str2str ${url}`, peer('str2str'), ['-in', url, ...COMMON], {
    onStdoutBytes: (chunk) => {
      chunks.push(chunk);
      bytes += chunk.length;
      events.emit('data');
    },
    onStderr: () => events.emit('stderr'),
  });
  await traced(proc, 'rspntrip_c: response ok', options.timeoutMs ?? 10_000, events);
  return {
    proc,
    get bytes() {
      return bytes;
    },
    received: () => Buffer.concat(chunks),
    waitForBytes: async (count, timeoutMs = 10_000) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        while (bytes < count) await once(events, 'data', { signal });
      } catch {
        throw new Error(`${proc.name}: ${bytes} of ${count} bytes within ${timeoutMs} ms\n${proc.output.stderr.split('\n').slice(-30).join('\n')}`);
      }
      return Buffer.concat(chunks);
    },
    stop: () => proc.stop('SIGTERM', 3000),
  };
}

/**
 * Runs str2str as an NTRIP client for `seconds`, the stream going to `outputFile`, and returns what
 * arrived. For a test that knows how many bytes to expect, `startNtripClient` + `waitForBytes`
 * waits for them instead of for the clock.
 */
export async function runNtripClient(options: NtripClientOptions & { outputFile: string; seconds: number }): Promise<{ data: Buffer; bytes: number }> {
  const url = `ntrip://${credentials(options.user, options.password)}${options.caster}/${options.mount.replace(/^\//, '')}`;
  const proc = startProcess(`str2str ${url}`, peer('str2str'), ['-in', url, '-out', `file://${options.outputFile}`, '-r', '1000', '-s', '0']);
  const timer = setTimeout(() => void proc.stop('SIGTERM', 3000), options.seconds * 1000);
  await proc.exited;
  clearTimeout(timer);
  const data = await readFile(options.outputFile).catch(() => Buffer.alloc(0));
  return { data, bytes: data.length };
}

/**
 * `count` RTCM 3 frames, the same for the same `seed`: preamble 0xD3, 10-bit length, a payload
 * whose first 12 bits are the message type (1005, 1077, 1087, 1127 in turn; 19 bytes for 1005 as
 * the standard says, 20 to 299 for the MSM types), the rest pseudo-random, and the CRC-24Q. The
 * framing is valid; the payload bits beyond the type are not meant to decode.
 */
export function rtcm3Frames(count: number, seed = 1): Buffer {
  const types = [1005, 1077, 1087, 1127];
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: deterministic, no dependency
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const type = types[i % types.length]!;
    const length = type === 1005 ? 19 : 20 + (next() % 280);
    const frame = Buffer.alloc(3 + length + 3);
    frame[0] = 0xd3;
    frame.writeUInt16BE(length & 0x3ff, 1);
    for (let j = 3; j < 3 + length; j++) frame[j] = next() & 0xff;
    frame[3] = type >> 4;
    frame[4] = ((type & 0xf) << 4) | (frame[4]! & 0x0f);
    const crc = crc24q(frame.subarray(0, 3 + length));
    frame[3 + length] = crc >> 16;
    frame[4 + length] = (crc >> 8) & 0xff;
    frame[5 + length] = crc & 0xff;
    frames.push(frame);
  }
  return Buffer.concat(frames);
}

/** CRC-24Q (polynomial 0x1864CFB, initial 0), the RTCM 3 frame check. */
export function crc24q(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
