import { createServer } from 'node:http';

/**
 * A demo web server for the quickstart, clearly labelled as such: it answers every request with
 * its own name so that you can watch Fulcrum spread requests over the real servers.
 */
export function startDemoBackend(name: string, port: number, host = '127.0.0.1'): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('X-Demo-Backend', name);
      res.end(`Hello from ${name} (a Fulcrum demo backend on ${host}:${port}); you asked for ${req.method} ${req.url}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(() => new Promise((done) => server.close(() => done()))));
  });
}
