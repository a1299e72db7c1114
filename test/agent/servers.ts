/**
 * Real servers for the adaptive scheduling tests, on 127.0.0.1 port 0: an HAProxy-style agent
 * (TCP, answers one line on connect), and a backend that serves traffic and its own load at
 * /load (the LoadMaster agent on the server's port), both steered by the test.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';

export interface AgentCheckServer {
  port: number;
  /** The next reply; null: accept and say nothing (a hung agent). */
  reply: string | null;
  /** Close the connection after the reply (HAProxy's agents do; some keep it open). */
  closeAfter: boolean;
  connections: number;
  close(): Promise<void>;
}

/** An agent on `host` (127.0.0.1; another loopback address lets several share one port) and `port` (0: any). */
export async function agentCheckServer(reply: string | null, closeAfter = true, host = '127.0.0.1', port = 0): Promise<AgentCheckServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (state.reply === null) return;
    if (state.closeAfter) socket.end(state.reply);
    else socket.write(state.reply);
  });
  const state: AgentCheckServer = {
    port: 0,
    reply,
    closeAfter,
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.listen(port, host);
  await once(server, 'listening');
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

export interface Backend {
  name: string;
  /** "127.0.0.1:PORT" */
  address: string;
  port: number;
  /** The body of GET /load (the LoadMaster agent), e.g. "10\n". */
  load: string;
  /** Requests other than /load. */
  requests: number;
  /** GET /load requests, with the Host header each carried. */
  loadPolls: Array<{ url: string; host: string | undefined }>;
  close(): Promise<void>;
}

/** An HTTP server on `host` answering its name, and its load at /load. */
export async function backend(name: string, load: string, host = '127.0.0.1'): Promise<Backend> {
  const server = http.createServer((req, res) => {
    req.resume();
    if (req.url === '/load') {
      state.loadPolls.push({ url: req.url, host: req.headers.host });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(state.load);
      return;
    }
    state.requests++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  server.keepAliveTimeout = 30_000;
  const state: Backend = {
    name,
    address: '',
    port: 0,
    load,
    requests: 0,
    loadPolls: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.listen(0, host);
  await once(server, 'listening');
  state.port = (server.address() as net.AddressInfo).port;
  state.address = `${host}:${state.port}`;
  return state;
}
