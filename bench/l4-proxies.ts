/**
 * The Layer 4 bench's columns: TCP proxies that relay bytes without reading them, each pinned and
 * started on a free loopback port like the HTTP ones (proxies.ts), in front of one real server
 * (nginx for the request rows, an iperf3 server for the bulk row).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, startFulcrum } from '../test/helpers/fulcrum.ts';
import { startProcess, waitForPort } from '../test/helpers/processes.ts';
import { peer } from '../interop/peers.ts';
import { cpuOpt, cpuProfileEnv, type ProxyDef } from './proxies.ts';

const fulcrumTcp: ProxyDef = {
  name: 'fulcrum',
  description: 'Fulcrum, workers: 1, access log off, a `protocol: tcp` virtual service',
  async start({ backend, cpus, cpuProfileDir }) {
    const port = await freePort();
    const fulcrum = await startFulcrum({
      ...cpuOpt(cpus),
      readyTimeoutMs: 20_000,
      ...cpuProfileEnv(cpuProfileDir),
      config: `workers: 1
accessLog: off
virtualServices:
  - name: tcp
    listen: 127.0.0.1:${port}
    protocol: tcp
    realServers: [ { address: ${backend} } ]
`,
    });
    return {
      url: `http://127.0.0.1:${port}`,
      memoryPids: fulcrum.workers.length > 0 ? fulcrum.workers : [fulcrum.pid],
      stop: async () => {
        await fulcrum.stop();
      },
    };
  },
};

const haproxyTcp: ProxyDef = {
  name: 'haproxy',
  description: 'HAProxy, nbthread 1, mode tcp',
  async start({ backend, cpus, dir }) {
    const port = await freePort();
    const cfg = path.join(dir, 'haproxy-tcp.cfg');
    await writeFile(
      cfg,
      `global
  nbthread 1
  # 9000 keeps maxsock (about 2 x maxconn) under the 20000 fd limit of this machine
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:${port}
  default_backend real
backend real
  server rs1 ${backend}
`,
    );
    const proc = startProcess('haproxy', peer('haproxy'), ['-db', '-f', cfg], cpuOpt(cpus));
    await waitForPort(port, { proc });
    return {
      url: `http://127.0.0.1:${port}`,
      memoryPids: [proc.pid],
      stop: async () => {
        await proc.stop('SIGTERM');
      },
    };
  },
};

const nodePipe: ProxyDef = {
  name: 'node-pipe',
  description: 'a bare Node `net` proxy: `client.pipe(upstream).pipe(client)` (bench/node-pipe.ts)',
  async start({ backend, cpus, cpuProfileDir }) {
    const port = await freePort();
    const script = path.join(import.meta.dirname, 'node-pipe.ts');
    const profile = cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
    const proc = startProcess('node-pipe', process.execPath, [...profile, script, String(port), backend], cpuOpt(cpus));
    await waitForPort(port, { proc });
    return {
      url: `http://127.0.0.1:${port}`,
      memoryPids: [proc.pid],
      stop: async () => {
        await proc.stop('SIGTERM');
      },
    };
  },
};

export const L4_PROXIES: readonly ProxyDef[] = [fulcrumTcp, haproxyTcp, nodePipe];
