/**
 * Config tests that write YAML as a user would and read back what the loader made of it: the
 * config, or its problems with their lines.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problem.ts';
import type { Config } from '../../src/config/schema.ts';
import { PROTOCOL_OFFERS, type FrontEndProtocol } from '../../src/pool/needs.ts';

export function loads(text: string): Config {
  const result = loadConfigText(text, 'test.yaml');
  assert.ok(result.ok, `expected the config to load:\n${text}\n${result.ok ? '' : JSON.stringify(result.problems, null, 2)}`);
  return result.config;
}

export function problemsOf(text: string): ConfigProblem[] {
  const result = loadConfigText(text, 'test.yaml');
  assert.equal(result.ok, false, `expected the config to be refused:\n${text}`);
  return result.ok ? [] : result.problems;
}

/** The one problem at `path`; fails, listing them all, when there is none. */
export function problemAt(problems: readonly ConfigProblem[], path: string): ConfigProblem {
  const found = problems.find((p) => p.path === path);
  assert.ok(found !== undefined, `no problem at ${path}; problems: ${JSON.stringify(problems, null, 2)}`);
  return found;
}

/** The 1-based line of the first line of `text` that contains `needle` (after line `after`). */
export function lineOf(text: string, needle: string, after = 0): number {
  const index = text.split('\n').findIndex((line, i) => i >= after && line.includes(needle));
  assert.ok(index >= 0, `"${needle}" is not in the text`);
  return index + 1;
}

/**
 * A virtual service of `protocol` as YAML lines (indented as a list item of virtualServices:),
 * with `extra` lines (indented 4) after its protocol. ftp gets the passive ports it requires,
 * https the test certificate it requires.
 */
export function serviceLines(protocol: FrontEndProtocol, name: string, port: number, extra: readonly string[]): string[] {
  return [
    `  - name: ${name}`,
    `    listen: 127.0.0.1:${port}`,
    `    protocol: ${protocol}`,
    ...(protocol === 'ftp' ? ['    ftp: { passivePorts: 30000-30009 }'] : []),
    ...(protocol === 'https' ? [`    tls: { certificates: [ { cert: ${TEST_CERT}.pem, key: ${TEST_CERT}.key } ] }`] : []),
    ...extra.map((line) => `    ${line}`),
  ];
}

const TEST_CERT = path.join(import.meta.dirname, '..', 'fixtures', 'tls', 'www.surveyor.lab.rsa');

/** Every protocol a front end may speak, as the pick path's table of offers lists them. */
export const PROTOCOLS = Object.keys(PROTOCOL_OFFERS) as FrontEndProtocol[];
