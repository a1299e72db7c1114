/**
 * The Layer 4 bench's columns: TCP proxies that relay bytes without reading them, each pinned and
 * started on a free loopback port like the HTTP ones (proxies.ts), in front of one real server
 * (nginx for the request rows, an iperf3 server for the bulk row).
 */
import path from 'node:path';
import { freePort } from '../test/helpers/fulcrum.ts';
import { startFulcrumProxy, startHaproxy, startProcessProxy, type ProxyDef } from './proxies.ts';

const fulcrumTcp: ProxyDef = {
  name: 'fulcrum',
  description: 'Fulcrum, workers: 1, access log off, a `protocol: tcp` virtual service',
  async start(context) {
    const port = await freePort();
    const config = `workers: 1
accessLog: off
virtualServices:
  - name: tcp
    listen: 127.0.0.1:${port}
    protocol: tcp
    realServers: [ { address: ${context.backend} } ]
`;
    return startFulcrumProxy(port, config, context);
  },
};

const haproxyTcp: ProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode tcp',
  start: (context) => startHaproxy(path.join(context.dir, 'haproxy-tcp.cfg'), '  mode tcp', context),
};

const nodePipe: ProxyDef = {
  name: 'node-pipe',
  description: 'a bare Node `net` proxy: `client.pipe(upstream).pipe(client)` (bench/node-pipe.ts)',
  async start({ backend, cpus, cpuProfileDir }) {
    const port = await freePort();
    const script = path.join(import.meta.dirname, 'node-pipe.ts');
    const profile = cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
    return startProcessProxy('node-pipe', port, process.execPath, [...profile, script, String(port), backend], cpus);
  },
};

export const L4_PROXIES: readonly ProxyDef[] = [fulcrumTcp, haproxyTcp, nodePipe];
