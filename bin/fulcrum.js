#!/usr/bin/env node
// Plain JavaScript on purpose: this file must parse on any Node, so that an old `node` on the
// PATH can hand over to the Node 24 that `npm install` fetched (the `node` package), which runs
// the TypeScript sources directly.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REQUIRED_MAJOR = 24;
const FORWARDED_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT'];

const major = Number(process.versions.node.split('.')[0]);
if (major >= REQUIRED_MAJOR) {
  await import('../src/cli/main.ts');
} else {
  reexecWithBundledNode();
}

function reexecWithBundledNode() {
  const bundledNode = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(bundledNode)) {
    process.stderr.write(
      `fulcrum needs Node.js ${REQUIRED_MAJOR} or newer; this is Node.js ${process.versions.node}.\n` +
        `Run \`npm install\` in ${fileURLToPath(new URL('..', import.meta.url))} to fetch Node ${REQUIRED_MAJOR} ` +
        `(the "node" package), or install Node.js >= ${REQUIRED_MAJOR} from https://nodejs.org/.\n`,
    );
    process.exit(1);
  }
  const args = [fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawn(bundledNode, args, { stdio: 'inherit' });
  // A terminal's Ctrl-C reaches both processes; the child sees SIGINT twice, which the
  // supervisor treats as one shutdown.
  const forward = (signal) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.on('error', (error) => {
    process.stderr.write(`fulcrum: cannot start ${bundledNode}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const name of FORWARDED_SIGNALS) process.off(name, forward);
    if (signal !== null) {
      // Die of the same signal so that our parent (a shell, systemd) sees what really happened.
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}
