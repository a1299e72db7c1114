/**
 * The node-pipe row of the Layer 4 bench: the least a Node TCP proxy can do, `client.pipe(server)`
 * both ways, as the product brief measured it (about 80,000 keep-alive requests/s beside HAProxy's
 * 101,000). It shows what is Node's own cost and what is Fulcrum's.
 * Usage: node bench/node-pipe.ts LISTEN_PORT TARGET_HOST:PORT
 */
import net from 'node:net';

const [port, target] = process.argv.slice(2);
const [host, targetPort] = (target ?? '').split(':');
if (port === undefined || host === undefined || targetPort === undefined) {
  console.error('usage: node bench/node-pipe.ts LISTEN_PORT TARGET_HOST:PORT');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), host);
  // Without these a reset on either side would be an uncaught 'error' and end the process.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream).pipe(client);
});
server.listen(Number(port), '127.0.0.1', () => console.log(`node-pipe listening on 127.0.0.1:${port} -> ${target}`));
process.on('SIGTERM', () => process.exit(0));
