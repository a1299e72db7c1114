/**
 * Types only: the shapes of config problems, apart from the code that finds and prints them.
 */
import type { ErrorCode } from '../errors.ts';

/** A step in a config path: a mapping key or a list index. */
export type PathSegment = string | number;

/** What a problem points at: the offending key, its value, or the mapping that lacks a key. */
export type IssueTarget = 'key' | 'value' | 'parent';

/** A problem found in config data, before it is placed in a file (the API validates JSON too). */
export interface ConfigIssue {
  code: ErrorCode;
  path: readonly PathSegment[];
  target: IssueTarget;
  message: string;
  /** What would be accepted here, for the user to pick from. */
  allowed?: string;
  /** The likely intended value or key (did you mean ...?). */
  suggestion?: string;
  /** The other half of a conflict, e.g. the first virtual service on the same address. */
  related?: readonly PathSegment[];
}

/** A problem placed in a file. line and column are 1-based; 0 when the problem has no position. */
export interface ConfigProblem {
  code: ErrorCode;
  file: string;
  line: number;
  column: number;
  /** Dotted path, e.g. virtualServices[0].realServers[1].weight; '' for the whole file. */
  path: string;
  message: string;
  allowed?: string;
  suggestion?: string;
  related?: { path: string; line: number; column: number };
}

/** The outcome of parsing one piece of user text (a duration, an address). */
export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false; message: string; suggestion?: string };
