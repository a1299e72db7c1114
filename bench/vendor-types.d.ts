// The few parts of http-proxy 1.18 (which ships no types) that bench/http-proxy.ts uses.
declare module 'http-proxy' {
  import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
  interface ServerOptions {
    target: string;
    agent?: Agent;
    xfwd?: boolean;
  }
  interface Proxy {
    web(req: IncomingMessage, res: ServerResponse): void;
    on(event: 'error', listener: (err: Error, req: IncomingMessage, res: ServerResponse) => void): this;
  }
  const httpProxy: { createProxyServer(options: ServerOptions): Proxy };
  export default httpProxy;
}
