/**
 * `fulcrum nlb import FILE... [--address NODE=IP ...] [--ports LIST ...]`: turn what the NLB
 * cmdlets printed on a Windows node into a Fulcrum config on standard output (with --json:
 * { config, warnings }). Problems go to standard error and exit 1; a malformed flag is a usage
 * error. src/cli/nlb-command.ts dispatches here; this module loads the config loader only when
 * it checks its output, so the other `nlb` commands stay light.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { EXIT_FAILED, EXIT_OK } from '../../cli/command.ts';
import { importNlb, SUPPORTED_FORMS, type InputFile } from './pipeline.ts';
import { NlbImportCode, problem, type ImportProblem } from './problems.ts';

export const IMPORT_USAGE = 'fulcrum nlb import FILE... [--address NODE=IP ...] [--ports 80,443,8000-8010 ...] [--json]';

export interface ImportIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_IO: ImportIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export async function importCommand(args: readonly string[], global: { json?: boolean | undefined }, io: ImportIo = PROCESS_IO): Promise<number | { usage: string }> {
  try {
    return await runImport(args, global, io);
  } catch (error) {
    // A bug (or an input no check foresaw) is one line naming the command, not a stack trace.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr(`fulcrum: nlb import: ${reason.replace(/\s+/g, ' ')} (a bug in the import; please report it with the input)\n`);
    return EXIT_FAILED;
  }
}

async function runImport(args: readonly string[], global: { json?: boolean | undefined }, io: ImportIo): Promise<number | { usage: string }> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { address: { type: 'string', multiple: true }, ports: { type: 'string', multiple: true }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { usage: error instanceof Error ? error.message : String(error) };
  }
  const json = global.json === true || parsed.values.json === true;
  if (parsed.positionals.length === 0) return { usage: `nlb import needs at least one file: ${SUPPORTED_FORMS}` };
  const addresses = parseAddresses(parsed.values.address ?? []);
  if (typeof addresses === 'string') return { usage: addresses };
  const ports = parsePorts(parsed.values.ports);
  if (typeof ports === 'string') return { usage: ports };

  const files: InputFile[] = [];
  const unread: ImportProblem[] = [];
  for (const name of parsed.positionals) {
    try {
      files.push({ name, bytes: await readFile(name) });
    } catch (error) {
      unread.push(problem(NlbImportCode.READ, `cannot read ${name}: ${readReason(error)}`));
    }
  }
  const outcome = unread.length > 0 ? { ok: false as const, problems: unread, warnings: [] } : await importNlb(files, { addresses, ports });
  if (!outcome.ok) {
    if (json) io.stdout(`${JSON.stringify({ errors: outcome.problems, warnings: outcome.warnings }, null, 2)}\n`);
    io.stderr(outcome.problems.map((found) => `fulcrum: ${found.message}\n`).join(''));
    return EXIT_FAILED;
  }
  if (json) {
    io.stdout(`${JSON.stringify({ config: outcome.config, warnings: outcome.warnings }, null, 2)}\n`);
  } else {
    io.stdout(outcome.text);
    // The same warnings head the file; on the terminal they are seen before the file is saved.
    io.stderr(outcome.warnings.map((warning) => `fulcrum: warning: ${warning}\n`).join(''));
  }
  return EXIT_OK;
}

/** --address NODE=IP, repeatable; the node as NLB names it, the IP Fulcrum reaches it at. */
function parseAddresses(values: readonly string[]): Map<string, string> | string {
  const addresses = new Map<string, string>();
  for (const value of values) {
    const match = /^([^=\s]+)=(.+)$/.exec(value.trim());
    const node = match?.[1];
    const ip = match?.[2]?.trim();
    if (node === undefined || ip === undefined) return `--address expects NODE=IP, e.g. --address web1=10.0.0.11 (got ${JSON.stringify(value)})`;
    if (isIP(ip) === 0) return `--address ${node}=${ip}: ${JSON.stringify(ip)} is not an IP address`;
    if ([...addresses.keys()].some((known) => known.toLowerCase() === node.toLowerCase())) return `--address gives node ${node} twice`;
    addresses.set(node, ip);
  }
  return addresses;
}

/** --ports 80,443,8000-8010, repeatable: only these ports are imported. */
function parsePorts(values: readonly string[] | undefined): Set<number> | undefined | string {
  if (values === undefined) return undefined;
  const ports = new Set<number>();
  for (const item of values.flatMap((value) => value.split(','))) {
    const match = /^\s*([0-9]{1,5})(?:-([0-9]{1,5}))?\s*$/.exec(item);
    const first = Number(match?.[1]);
    const last = Number(match?.[2] ?? match?.[1]);
    if (match === null || first < 1 || last > 65_535 || last < first) return `--ports expects ports and ranges within 1-65535, e.g. --ports 80,443,8000-8010 (got ${JSON.stringify(item)})`;
    for (let port = first; port <= last; port++) ports.add(port);
  }
  return ports;
}

function readReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return error instanceof Error ? error.message : String(error);
}
