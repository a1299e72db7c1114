import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoBackend } from './demo-backend.ts';

/**
 * `npm start`: two demo backends and Fulcrum in front of them, with the web console. Fulcrum runs
 * a copy of examples/quickstart.yaml in .tmp/quickstart/ (kept between runs, with its state
 * database), because the console and the API write the config they run. Ctrl-C stops all three.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const folder = join(root, '.tmp', 'quickstart');
const config = join(folder, 'fulcrum.yaml');
mkdirSync(folder, { recursive: true });
if (!existsSync(config)) copyFileSync(join(root, 'examples', 'quickstart.yaml'), config);
const stops = await Promise.all([startDemoBackend('demo-backend-1', 9001), startDemoBackend('demo-backend-2', 9002)]).catch(
  (err: NodeJS.ErrnoException) => {
    console.error(`quickstart: cannot start the demo backends on 127.0.0.1:9001/9002 (${err.code ?? err.message}); is something else listening there?`);
    process.exit(1);
  },
);
console.error('quickstart: demo backends listening on 127.0.0.1:9001 and 127.0.0.1:9002');
console.error('quickstart: starting Fulcrum on 127.0.0.1:8080 — try `curl localhost:8080` twice');
console.error(`quickstart: the web console is at http://127.0.0.1:9090/ (config: ${config}; delete it to start over)`);

const fulcrum = spawn(process.execPath, ['bin/fulcrum.js', 'start', '-c', config], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => fulcrum.kill(signal));
}
fulcrum.on('exit', async (code, signal) => {
  await Promise.all(stops.map((stop) => stop()));
  process.exit(code ?? (signal ? 1 : 0));
});
