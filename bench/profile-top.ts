/**
 * Summarises a V8 CPU profile (.cpuprofile, from --cpu-prof or BENCH_CPU_PROFILE): the functions
 * with the most self time, and the share of idle, GC and native "(program)" time.
 * Usage: node bench/profile-top.ts FILE.cpuprofile [TOP=25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/profile-top.ts FILE.cpuprofile [TOP]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<string, number>();
let totalUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!);
  // A sample's delta is the time until the next one: the time spent where this sample was taken.
  const us = profile.timeDeltas[i + 1] ?? 0;
  if (node === undefined) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '')}:${lineNumber + 1}`;
  const key = `${functionName || '(anonymous)'}${where}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  totalUs += us;
}
const top = [...selfUs.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25));
console.log(`${path.basename(file)}: ${(totalUs / 1e6).toFixed(2)} s sampled, ${profile.samples.length} samples`);
console.log('self %   self ms  function');
for (const [key, us] of top) console.log(`${((100 * us) / totalUs).toFixed(1).padStart(6)}  ${(us / 1000).toFixed(0).padStart(8)}  ${key}`);
