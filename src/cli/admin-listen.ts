/**
 * admin.listen (and whether admin.tls is set) from a config file's text without the YAML parser,
 * for the shapes the docs and examples write:
 *
 *   admin:                              admin: { listen: 127.0.0.1:9090 }
 *     listen: 127.0.0.1:9090  # note
 *     tls: { certificates: [...] }
 *
 * Why: loading the `yaml` package (72 CommonJS modules) costs about 80 ms, which would double
 * `fulcrum status -c FILE` (0.11 s with --admin). Anything this reader is not sure of (anchors,
 * tags, quoting with escapes, multi-line values, several documents, tabs, a top-level line that is
 * not a plain `key:`) answers undefined, and the caller asks the YAML parser: a wrong address would
 * be far worse than a slow one. A test holds its answers equal to the parser's.
 */

export interface AdminSection {
  /** The listen value as written (unquoted); undefined when absent or null. */
  listen: string | undefined;
  /** admin.tls is present and not null. */
  tls: boolean;
}

const TOP_LEVEL_KEY = /^([A-Za-z_][\w-]*)[ ]*:(?:[ ]+(.*))?$/;
const NULL = /^(?:~|null|Null|NULL)?$/;
/** Plain scalars YAML 1.2 reads as numbers or booleans, not as text. */
const NOT_TEXT = /^(?:[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|true|True|TRUE|false|False|FALSE)$/;

/** The admin section, or undefined when only a YAML parser can say. */
export function scanAdminSection(text: string): AdminSection | undefined {
  const lines = text.split(/\r?\n/);
  let adminLine = -1;
  let topLevel = false;
  for (const [i, line] of lines.entries()) {
    if (/^(?:---|\.\.\.|%)/.test(line) || /^[ ]*\t/.test(line)) return undefined;
    if (isBlankOrComment(line)) continue;
    if (line.startsWith(' ')) {
      // A document whose mapping is indented as a whole: only a parser knows its keys.
      if (!topLevel) return undefined;
      continue;
    }
    topLevel = true;
    const key = TOP_LEVEL_KEY.exec(line);
    if (key === null) return undefined;
    if (key[1] === 'admin') {
      if (adminLine !== -1) return undefined;
      adminLine = i;
    }
  }
  if (adminLine === -1) return { listen: undefined, tls: false };
  const rest = stripComment(TOP_LEVEL_KEY.exec(lines[adminLine]!)![2] ?? '');
  if (rest !== '') return rest.startsWith('{') ? flowSection(rest) : NULL.test(rest) ? { listen: undefined, tls: false } : undefined;
  return blockSection(lines, adminLine + 1);
}

/** `{ listen: 127.0.0.1:9090, tls: ... }` on one line, with nothing nested that holds a comma or a brace. */
function flowSection(text: string): AdminSection | undefined {
  const inner = /^\{([^{}[\]&*!|>'"`]*)\}$/.exec(text);
  if (inner === null) return undefined;
  const entries = new Map<string, string>();
  for (const part of inner[1]!.split(',')) {
    if (part.trim() === '') continue;
    const pair = /^[ ]*([A-Za-z_][\w-]*)[ ]*:(?:[ ]+(.*?))?[ ]*$/.exec(part);
    if (pair === null || entries.has(pair[1]!)) return undefined;
    entries.set(pair[1]!, pair[2] ?? '');
  }
  const listen = entries.get('listen');
  const tls = entries.get('tls');
  return section(listen, tls !== undefined && !NULL.test(tls));
}

/** The indented lines under `admin:`; keys at the first child's indentation, deeper lines belong to the key above. */
function blockSection(lines: readonly string[], from: number): AdminSection | undefined {
  let indent = -1;
  const entries = new Map<string, { value: string; nested: boolean }>();
  let last: { value: string; nested: boolean } | undefined;
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (isBlankOrComment(line)) continue;
    const depth = line.length - line.trimStart().length;
    if (depth === 0) break;
    if (indent === -1) indent = depth;
    if (depth > indent) {
      if (last === undefined) return undefined;
      last.nested = true;
      continue;
    }
    if (depth < indent) return undefined;
    const pair = TOP_LEVEL_KEY.exec(line.slice(indent));
    if (pair === null || entries.has(pair[1]!)) return undefined;
    last = { value: stripComment(pair[2] ?? ''), nested: false };
    entries.set(pair[1]!, last);
  }
  const listen = entries.get('listen');
  if (listen !== undefined && listen.nested) return undefined; // a value over several lines
  const tls = entries.get('tls');
  return section(listen?.value, tls !== undefined && (tls.nested || !NULL.test(tls.value)));
}

function section(listen: string | undefined, tls: boolean): AdminSection | undefined {
  if (listen === undefined || NULL.test(listen)) return { listen: undefined, tls };
  const value = scalar(listen);
  return value === undefined ? undefined : { listen: value, tls };
}

/** A plain or simply quoted scalar; undefined for what only a parser reads right (escapes, anchors, tags, flow). */
function scalar(text: string): string | undefined {
  const quoted = /^"([^"\\]*)"$/.exec(text) ?? /^'([^']*)'$/.exec(text);
  if (quoted !== null) return quoted[1];
  if (/^[&*!|>@`"'{[\]#%?-]/.test(text) || /[ ]#|: |[{}[\],]/.test(text)) return undefined;
  // The parser's error message says what such a value is.
  if (NOT_TEXT.test(text)) return undefined;
  return text;
}

/** A comment starts at " #" outside quotes; a value with a quote is left whole for scalar() to judge. */
function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  if (/["']/.test(text)) return text.replace(/[ ]+#[^"']*$/, '').trim();
  const at = text.search(/[ ]#/);
  return (at === -1 ? text : text.slice(0, at)).trim();
}

function isBlankOrComment(line: string): boolean {
  const trimmed = line.trimStart();
  return trimmed === '' || trimmed.startsWith('#');
}
