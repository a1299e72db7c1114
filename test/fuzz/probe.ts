// Show what Fulcrum and llhttp make of each argument: a JSON string literal (\xNN escapes allowed)
// or raw text. No sentinel is appended. llhttp sees the bytes as they are; the divergence line
// is the test's (with the intended differences aligned, see intended-differences.ts).
//   node test/fuzz/probe.ts '"GET / HTTP/1.1\r\nHost: a\r\n\r\n"'
import { divergence } from './compare.ts';
import { fulcrumFrame } from './fulcrum-framing.ts';
import { alignForOracle } from './intended-differences.ts';
import { LlhttpOracle } from './llhttp-oracle.ts';
import { PARSE_ERRORS } from '../../src/http/parse-error.ts';

const oracle = new LlhttpOracle();
for (const arg of process.argv.slice(2)) {
  const text = arg.startsWith('"') ? (JSON.parse(arg.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1")) as string) : arg;
  const input = Buffer.from(text, 'latin1');
  const f = fulcrumFrame(input);
  const n = await oracle.parse(input);
  const stop = f.stop.kind === 'refused' ? `refused: ${PARSE_ERRORS[f.stop.error]!.reason}` : f.stop.kind;
  console.log(JSON.stringify(text));
  console.log(`  fulcrum: ${f.messages.length} message(s), ${stop}; ends ${f.messages.map((m) => m.end).join(',')}`);
  console.log(`  llhttp:  ${n.messages.length} message(s), complete ${n.messages.map((m) => m.complete).join(',')}, error ${n.error}${n.refusedAfterHead ? ', answered 4xx' : ''}`);
  for (const m of n.messages) console.log(`           ${m.method} ${JSON.stringify(m.url)} ${JSON.stringify(m.rawHeaders)} body ${JSON.stringify(m.body.toString('latin1'))}${m.upgrade ? ' upgrade' : ''}`);
  const aligned = alignForOracle(input, f);
  const d = aligned.note === '' ? divergence(f, n) : divergence(aligned.verdict, await oracle.parse(aligned.input));
  console.log(`  divergence: ${d}${aligned.note === '' ? '' : ` (${aligned.note})`}`);
}
await oracle.close();
