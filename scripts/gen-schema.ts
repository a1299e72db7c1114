/**
 * Writes schema/fulcrum.schema.json and docs/configuration.md from src/config/schema.ts, and
 * docs/termination-codes.md from src/exchange/termination.ts.
 * `--check` writes nothing and exits 1 when either file is out of date (for CI).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, configReferenceMarkdown } from '../src/config/reference.ts';
import { terminationCodesMarkdown } from '../src/exchange/termination-doc.ts';

const outputs = [
  { path: fileURLToPath(new URL('../schema/fulcrum.schema.json', import.meta.url)), text: `${JSON.stringify(configJsonSchema(), null, 2)}\n` },
  { path: fileURLToPath(new URL('../docs/configuration.md', import.meta.url)), text: configReferenceMarkdown() },
  { path: fileURLToPath(new URL('../docs/termination-codes.md', import.meta.url)), text: terminationCodesMarkdown() },
];

const checkOnly = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of outputs) {
  if (checkOnly) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // A missing file is simply out of date.
    }
    if (current !== text) {
      process.stderr.write(`${path} is out of date; run: npm run schema\n`);
      stale++;
    }
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
if (stale > 0) process.exitCode = 1;
