#!/bin/sh
':' //; f=$(readlink -f "$0" 2>/dev/null) || f=$0; n=${f%/bin/*}/node_modules/node/bin/node; [ -x "$n" ] || n=node; exec "$n" "$f" "$@"
// The two lines above are shell and JavaScript at once. Run as a program (`fulcrum`, `npx fulcrum`),
// /bin/sh starts the Node 24 that `npm install` fetched (the "node" package) on this file, or else
// the `node` on the PATH: one Node start, where a `#!/usr/bin/env node` line cost two whenever the
// system Node is older than 24 (that Node's start, ~0.1 s, then the hand-over). Node reads line 2
// as a string and a comment.
//
// The rest is plain JavaScript on purpose: it must parse on any Node, so that an old `node` that
// runs this file directly (`node bin/fulcrum.js`) can hand over to Node 24, which runs the
// TypeScript sources.
//
// package.json says "engines": {"node": ">=20"}, not ">=24": npm checks the root project's engines
// on every `npm install`, `npm exec` and `npx fulcrum`, and printed ten lines of EBADENGINE on a
// machine whose Node is 20, although the project runs there: npm and this launcher need Node 20,
// and everything else runs on the bundled Node 24 (`npm start` and `npm test` find it first on the
// PATH npm sets, this launcher execs it). engine-strict=false would not silence the warnings, and
// a quieter npm loglevel would hide every other warning too.
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REQUIRED_MAJOR = 24;
const FORWARDED_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT'];

const major = Number(process.versions.node.split('.')[0]);
if (major >= REQUIRED_MAJOR) {
  enableCompileCache();
  await import('../src/cli/main.ts');
} else {
  reexecWithBundledNode();
}

/**
 * Node's compile cache keeps the type-stripped TypeScript and V8's code of every module, so a
 * command neither starts the TypeScript stripper nor compiles its modules again on every run
 * (measured on 2 cores: `fulcrum --version` 0.21 s -> 0.11 s, `fulcrum status` 0.26 s -> 0.12 s,
 * `fulcrum check` 0.53 s -> 0.33 s). The cache lives in the package's own node_modules/.cache,
 * where whoever may write may change the code anyway; not in a shared /tmp folder that another
 * user could have made first and filled. When that is not writable (an install owned by another
 * user), the user's own cache folder. NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE still win.
 */
function enableCompileCache() {
  const { enableCompileCache: enable, constants } = process.getBuiltinModule('node:module');
  if (enable === undefined) return;
  const home = process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : process.env.HOME && `${process.env.HOME}/.cache`;
  const candidates = [fileURLToPath(new URL('../node_modules/.cache/fulcrum', import.meta.url)), home && `${home}/fulcrum/compile-cache`];
  for (const directory of candidates) {
    if (!directory || !writable(directory)) continue;
    if (enable(directory).status !== constants.compileCacheStatus.FAILED) return;
  }
}

function writable(directory) {
  try {
    mkdirSync(directory, { recursive: true });
    accessSync(directory, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
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
