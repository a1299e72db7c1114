// Run the differential check over many generated cases and group the divergences by class, with
// the shortest input of each: the test stops at the first failure, this shows them all.
//   node test/fuzz/triage.ts [cases] [seed]
import fc from 'fast-check';
import { divergence, SENTINEL } from './compare.ts';
import { type HeadSearch, fulcrumFrame } from './fulcrum-framing.ts';
import { alignForOracle } from './intended-differences.ts';
import { LlhttpOracle } from './llhttp-oracle.ts';
import { mutatedStream, requestStream } from './request-arbitraries.ts';

const cases = Number(process.argv[2] ?? 2000);
const seed = Number(process.argv[3] ?? 1);
const oracle = new LlhttpOracle();
const classes = new Map<string, { count: number; example: string }>();
const searches: HeadSearch[] = ['engine', 'skip-empty-lines'];
let accepted = 0;

const inputs: Buffer[] = [
  ...fc.sample(requestStream, { numRuns: cases, seed }).map((t) => Buffer.from(t, 'latin1')),
  ...fc.sample(mutatedStream, { numRuns: cases * 2, seed: seed + 1 }),
];
const started = performance.now();
for (const input of inputs) {
  const stream = Buffer.concat([input, Buffer.from(SENTINEL, 'latin1')]);
  for (const search of searches) {
    const fulcrum = fulcrumFrame(stream, search);
    if (search === 'engine' && fulcrum.messages.length > 0) accepted++;
    const aligned = alignForOracle(stream, fulcrum);
    const d = divergence(aligned.verdict, await oracle.parse(aligned.input));
    if (d === null) continue;
    // The class: the message without the request's own target, quoted values and offsets.
    const key = `${search}: ${d.replace(/#\d+ \(.*?\)/, '#N').replace(/"(?:[^"\\]|\\.)*"/g, 'S').replace(/\d+/g, 'N').slice(0, 160)}`;
    const example = JSON.stringify(input.toString('latin1'));
    const c = classes.get(key);
    if (c === undefined) classes.set(key, { count: 1, example });
    else {
      c.count++;
      if (example.length < c.example.length) c.example = example;
    }
  }
}
console.log(`${inputs.length} cases (${accepted} with an accepted request) in ${(performance.now() - started).toFixed(0)} ms`);
for (const [key, { count, example }] of [...classes].sort((a, b) => b[1].count - a[1].count)) {
  console.log(`${count}\t${key}\n\t${example}`);
}
await oracle.close();
