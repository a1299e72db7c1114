/**
 * How CLI commands write: results on stdout (a table, or the API's JSON with --json, so that
 * `fulcrum token list --json | jq` works), problems on stderr prefixed "fulcrum: ".
 */
import type { AdminAnswer } from './admin-client.ts';
import { EXIT_FAILED } from './command.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function failed(message: string): number {
  process.stderr.write(`fulcrum: ${message}\n`);
  return EXIT_FAILED;
}

/** A refused call: with --json the API's error document on stdout too, for a script to read. */
export function failedCall(answer: Extract<AdminAnswer, { ok: false }>, json: boolean | undefined): number {
  if (json === true && answer.body !== undefined) printJson(answer.body);
  return failed(answer.message);
}

/** "2026-12-06 10:41" (UTC) from ISO 8601; "-" for none. */
export function minutes(iso: string | null | undefined): string {
  return iso === null || iso === undefined ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}
