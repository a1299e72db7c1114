/**
 * Split a `fulcrum` command line into the command, the global options (which may stand anywhere:
 * `fulcrum -c FILE status` and `fulcrum status -c FILE` are the same) and the rest, which the
 * command parses with its own options (`token create NAME --role R`, `backup -o FILE`). So main
 * knows no command's options, and a command's module is loaded only when that command runs.
 */
import { parseArgs } from 'node:util';

export interface GlobalOptions {
  config?: string | undefined;
  admin?: string | undefined;
  token?: string | undefined;
  ca?: string | undefined;
  json?: boolean | undefined;
  help?: boolean | undefined;
  version?: boolean | undefined;
}

export type SplitArguments = { ok: true; command: string | undefined; args: string[]; global: GlobalOptions } | { ok: false; message: string };

const GLOBAL_OPTIONS = {
  config: { type: 'string', short: 'c' },
  admin: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type GlobalName = keyof typeof GLOBAL_OPTIONS;

function isGlobal(name: string): name is GlobalName {
  return Object.hasOwn(GLOBAL_OPTIONS, name);
}

export function splitArguments(argv: readonly string[]): SplitArguments {
  // strict: false lets the command's own options through; they come back as tokens we hand on.
  const { tokens } = parseArgs({ args: [...argv], options: GLOBAL_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const global: GlobalOptions = {};
  let command: string | undefined;
  /** argv indexes that are the command's: its arguments and options, in their order. */
  const kept = new Set<number>();
  /** argv indexes taken by a global option (several for "-hv", the next one for "-c FILE"). */
  const taken = new Set<number>();
  let terminated = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      terminated = true;
      kept.add(token.index);
    } else if (token.kind === 'positional') {
      if (command === undefined && !terminated) command = token.value;
      else kept.add(token.index);
    } else if (terminated || !isGlobal(token.name)) {
      kept.add(token.index);
    } else {
      const spec = GLOBAL_OPTIONS[token.name];
      const display = 'short' in spec ? `-${spec.short}, --${token.name}` : `--${token.name}`;
      taken.add(token.index);
      if (spec.type === 'string') {
        if (token.value === undefined) return { ok: false, message: `Option '${display} <value>' argument missing` };
        if (token.inlineValue === false) taken.add(token.index + 1);
        global[token.name as 'config' | 'admin' | 'token' | 'ca'] = token.value;
      } else {
        if (token.value !== undefined) return { ok: false, message: `Option '${display}' does not take an argument` };
        global[token.name as 'json' | 'help' | 'version'] = true;
      }
    }
  }
  for (const index of kept) {
    // "-jo": a group of short options mixing a global one with a command's cannot be split back.
    if (taken.has(index)) return { ok: false, message: `write "${argv[index]}" as separate options` };
  }
  const args = [...kept].sort((a, b) => a - b).map((index) => argv[index]!);
  return { ok: true, command, args, global };
}

/** The usage error for an argument a command does not take. */
export function unexpectedArgument(arg: string | undefined): string {
  return arg?.startsWith('-') === true ? `Unknown option '${arg}'` : `unexpected argument "${arg ?? ''}"`;
}
