/**
 * The http-proxy row of the bench: the npm package in its usual setup (a keep-alive agent and
 * X-Forwarded-For). Usage: node bench/http-proxy.ts LISTEN_PORT TARGET_URL
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, target] = process.argv.slice(2);
if (port === undefined || target === undefined) {
  console.error('usage: node bench/http-proxy.ts LISTEN_PORT TARGET_URL');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const proxy = httpProxy.createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (!res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.listen(Number(port), '127.0.0.1', () => console.log(`http-proxy listening on 127.0.0.1:${port} -> ${target}`));
process.on('SIGTERM', () => process.exit(0));
