/**
 * The oracle for the differential test: Node's own http.Server, hence Node's own llhttp with
 * Node's defaults (insecureHTTPParser: false, maxHeaderSize 16 KiB, requireHostHeader: true).
 *
 * Why a real server and not the llhttp wasm from undici or internalBinding('http_parser'): the
 * engine's real servers are mostly Node servers, so "what Node's server accepts" is the property we
 * need, including the checks Node makes above llhttp (Host on HTTP/1.1, header size accounting);
 * undici's wasm is built from a different llhttp release with response-side settings, and the
 * binding is deprecated and changes between releases.
 *
 * Why an in-memory connection (stream.duplexPair) rather than a TCP socket on port 0: the server
 * runs the very same code (connectionListener initialises the same llhttp parser with the same
 * limits and lenience flags); only the byte delivery differs. In memory, the parser runs
 * synchronously in the socket's 'data' handler, so a listener added after the server's tells us
 * exactly when all bytes were parsed, with no timeouts, no port, and no segmenting by the kernel.
 * test/fuzz/request-parser.differential.test.ts cross-checks this against a real TCP socket.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import { type Duplex, duplexPair } from 'node:stream';

export interface NodeMessage {
  method: string;
  url: string;
  version: string;
  /** Names and values alternately, as the parser reported them (IncomingMessage.rawHeaders). */
  rawHeaders: string[];
  body: Buffer;
  /** The parser reached the end of this message (on_message_complete). */
  complete: boolean;
  rawTrailers: string[];
  upgrade: boolean;
}

export interface NodeVerdict {
  messages: NodeMessage[];
  /** llhttp's error code (HPE_*) when the server emitted 'clientError', else null. */
  error: string | null;
  /** The server answered without a 'request' event (e.g. 400 for a missing Host header). */
  refusedAfterHead: boolean;
}

interface Pending {
  verdict: NodeVerdict;
}

const kCase = Symbol('fuzzCase');
type TaggedSocket = Duplex & { [kCase]?: Pending; remotePort?: number };

export class LlhttpOracle {
  readonly server: Server;
  /** TCP cases by the client's port: the server's socket is not ours to tag before it parses. */
  readonly #byPort = new Map<number, Pending>();

  constructor() {
    this.server = createServer({ insecureHTTPParser: false });
    this.server.on('request', (req, res) => this.#onRequest(req, res));
    // Expect is application policy, not framing: without these listeners Node answers 100 or 417
    // itself, and for 417 emits no 'request'.
    this.server.on('checkContinue', (req, res) => this.#onRequest(req, res));
    this.server.on('checkExpectation', (req, res) => this.#onRequest(req, res));
    // Upgrade requests (with a listener) stop the parser after the head, as they would in a server
    // that tunnels; the engine stops parsing there too.
    this.server.on('upgrade', (req, socket: Duplex) => {
      this.#record(req, true);
      socket.on('error', () => {});
      socket.destroy();
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: TaggedSocket) => {
      const pending = this.#pendingFor(socket);
      if (pending !== undefined && pending.verdict.error === null) pending.verdict.error = err.code ?? String(err);
      socket.destroy();
    });
  }

  #pendingFor(socket: TaggedSocket): Pending | undefined {
    return socket[kCase] ?? (socket.remotePort === undefined ? undefined : this.#byPort.get(socket.remotePort));
  }

  #record(req: IncomingMessage, upgrade: boolean): NodeMessage | null {
    const pending = this.#pendingFor(req.socket as TaggedSocket);
    if (pending === undefined) return null;
    const msg: NodeMessage = {
      method: req.method ?? '',
      url: req.url ?? '',
      version: req.httpVersion,
      rawHeaders: req.rawHeaders.slice(),
      body: Buffer.alloc(0),
      complete: false,
      rawTrailers: [],
      upgrade,
    };
    pending.verdict.messages.push(msg);
    return msg;
  }

  #onRequest(req: IncomingMessage, _res: unknown): void {
    const msg = this.#record(req, false);
    if (msg === null) return;
    // The server's parser callbacks call push(chunk) for body bytes and push(null) at
    // on_message_complete, synchronously: hooking push records the framing exactly, without
    // depending on when the stream emits 'data' or whether a later error destroys the request.
    const chunks: Buffer[] = [];
    const push = req.push;
    req.push = function (this: IncomingMessage, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
      if (chunk === null) {
        msg.complete = true;
        msg.rawTrailers = req.rawTrailers.slice();
      } else {
        chunks.push(Buffer.from(chunk));
        msg.body = Buffer.concat(chunks);
      }
      return push.call(this, chunk, encoding);
    };
    // The zero-length body of a GET completes inside the parser before 'request' is emitted
    // when head and end arrive together; req.complete tells us.
    if (req.complete) {
      msg.complete = true;
      msg.rawTrailers = req.rawTrailers.slice();
    }
    // No response: Node keeps parsing pipelined requests regardless, and answering would add
    // Node's own connection management (closing after "Connection: close") to what we observe.
  }

  /** Feed `bytes` to a fresh connection and report what Node's server made of them. */
  parse(bytes: Uint8Array): Promise<NodeVerdict> {
    const verdict: NodeVerdict = { messages: [], error: null, refusedAfterHead: false };
    const [client, serverSide] = duplexPair() as [Duplex, TaggedSocket];
    serverSide[kCase] = { verdict };
    return new Promise((resolve) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        // Let nextTick/microtask work the parser scheduled (clientError, 400 writes) run first.
        setImmediate(() => {
          serverSide[kCase] = undefined;
          client.destroy();
          serverSide.destroy();
          resolve(verdict);
        });
      };
      client.on('error', () => {});
      client.on('data', (d: Buffer) => {
        // Node answers a refused head (missing Host, version it rejects) itself.
        if (verdict.error === null && d.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 4')) {
          verdict.refusedAfterHead = true;
        }
      });
      client.on('close', finish);
      this.server.emit('connection', serverSide);
      // Added after the server's own 'data' listener: runs once llhttp has executed the chunk.
      serverSide.on('data', finish);
      serverSide.on('close', finish);
      client.write(bytes);
    });
  }

  /**
   * The same over a real TCP connection to the server listening on port 0, to check that the
   * in-memory connection changes nothing. The client half-closes after writing; Node then
   * reports an unfinished message as HPE_INVALID_EOF_STATE, which parse() never sees.
   */
  async parseOverTcp(bytes: Uint8Array): Promise<NodeVerdict> {
    if (!this.server.listening) await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    const verdict: NodeVerdict = { messages: [], error: null, refusedAfterHead: false };
    const client: Socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const localPort = client.localPort!;
    this.#byPort.set(localPort, { verdict });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('TCP case did not finish in 5 s')), 5_000);
        client.on('error', () => {});
        client.on('data', (d: Buffer) => {
          if (verdict.error === null && d.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 4')) verdict.refusedAfterHead = true;
        });
        client.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        client.end(bytes);
      });
    } finally {
      this.#byPort.delete(localPort);
    }
    return verdict;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }
}
