/**
 * Types only: what every `fulcrum` command is. main.ts loads a command's module when that command
 * runs (so `fulcrum status` never loads the config schema), then calls it with the arguments
 * after the command's name and the global options.
 */
import type { GlobalOptions } from './arguments.ts';

/** An exit code; a usage error for main to print with the help; undefined: still running (start). */
export type CommandResult = number | { usage: string } | undefined;

export type Command = (args: readonly string[], global: GlobalOptions) => Promise<CommandResult>;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
