/**
 * Items of a keyed list in the config's YAML (virtual services by name, pools by name, a pool's
 * real servers by address, GSLB FQDNs by name), read and changed through the `yaml` package's
 * document model, so that comments and the layout of everything else stay as they were.
 *
 * An item's ETag is a hash of the item as written (its JSON): an edit of another item does not
 * make it stale, an edit of this one does (what If-Match is for).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { formatPath } from '../../config/format.ts';
import type { PathSegment } from '../../config/problem.ts';
import { mergeNode } from './yaml-merge.ts';

/** Same limits as the loader (src/config/load.ts). */
const PARSE_OPTIONS = { uniqueKeys: true, version: '1.2' } as const;
const TO_JS = { maxAliasCount: 100 };

export interface ListSpec {
  /** Where the list is: ['virtualServices'], ['pools'], ['gslb', 'fqdns'], ['pools', 3, 'realServers']. */
  path: PathSegment[];
  /** The key that names an item: 'name' or 'address'. */
  key: string;
  /** Two ids name the same item ("WWW.example.com." and "www.example.com"; "[2001:DB8::1]:80" and "[2001:db8::1]:80"). */
  normalise: (id: string) => string;
}

export type Parsed = { ok: true; doc: Document } | { ok: false; message: string };

export function parseConfigDocument(text: string): Parsed {
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0) return { ok: false, message: doc.errors[0]!.message };
  return { ok: true, doc };
}

export function toJs(doc: Document, path: PathSegment[]): unknown {
  const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (node === undefined || node === null) return undefined;
  return typeof node === 'object' && 'toJSON' in node ? (node as { toJSON: (a?: unknown, o?: unknown) => unknown }).toJSON(undefined, TO_JS) : node;
}

/** Every item of the list as plain data; [] when the list is absent. */
export function items(doc: Document, spec: ListSpec): Record<string, unknown>[] {
  const value = toJs(doc, spec.path);
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object') : [];
}

export function indexOf(doc: Document, spec: ListSpec, id: string): number {
  const wanted = spec.normalise(id);
  return items(doc, spec).findIndex((item) => typeof item[spec.key] === 'string' && spec.normalise(item[spec.key] as string) === wanted);
}

export function idsOf(doc: Document, spec: ListSpec): string[] {
  return items(doc, spec).map((item) => String(item[spec.key]));
}

export function etagOf(item: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(item)).digest('base64url').slice(0, 22)}"`;
}

/** Replace an item, keeping the comments and layout of what did not change in it (yaml-merge.ts). */
export function replaceAt(doc: Document, spec: ListSpec, index: number, value: unknown): void {
  const path = [...spec.path, index];
  doc.setIn(path, mergeNode(doc, doc.getIn(path, true), value));
}

export function append(doc: Document, spec: ListSpec, value: unknown): number {
  const list = doc.getIn(spec.path, true);
  if (isSeq(list)) {
    list.items.push(doc.createNode(value));
    return list.items.length - 1;
  }
  doc.setIn(spec.path, doc.createNode([value]));
  return 0;
}

export function removeAt(doc: Document, spec: ListSpec, index: number): void {
  doc.deleteIn([...spec.path, index]);
  const list = doc.getIn(spec.path, true);
  // An empty `pools:` list is an error; an absent one is not.
  if (isSeq(list) && list.items.length === 0) doc.deleteIn(spec.path);
}

/** Replace a whole mapping (the gslb section); deletes it for undefined. */
export function setSection(doc: Document, path: PathSegment[], value: unknown): void {
  if (value === undefined) doc.deleteIn(path);
  else if (doc.contents === null || !isMap(doc.contents)) doc.contents = doc.createNode({ [String(path[0])]: value }) as never;
  else doc.setIn(path, mergeNode(doc, doc.getIn(path, true), value));
}

export function focusOf(spec: ListSpec, index: number): string {
  return formatPath([...spec.path, index]);
}

/**
 * The document as text after an edit, with the administrator's layout where the `yaml` printer
 * changed only spacing: it writes one space before a comment ("listen: x # loopback") where the
 * file had several, and pads flow collections ("[ a, b ]", "{ a: 1 }") whether the file did or
 * not. A printed line that differs from an original line only there gets the original back, so a
 * diff shows the edit and nothing else. The spacing carries no meaning, but the match is by text
 * (a quoted "[ x" and "[x" look alike to it), so the result is kept only when it parses to the
 * same data as the printed document; otherwise the printer's text is used as it is.
 */
export function render(doc: Document, original: string): string {
  const printed = doc.toString();
  const originals = new Map<string, string[]>();
  for (const line of original.split('\n')) {
    const k = layoutKey(line);
    const list = originals.get(k);
    if (list === undefined) originals.set(k, [line]);
    else list.push(line);
  }
  const restored = printed
    .split('\n')
    .map((line) => originals.get(layoutKey(line))?.shift() ?? line)
    .join('\n');
  if (restored === printed) return printed;
  const check = parseDocument(restored, PARSE_OPTIONS);
  return check.errors.length === 0 && isDeepStrictEqual(check.toJS(TO_JS), doc.toJS(TO_JS)) ? restored : printed;
}

/** A line without the spacing the printer may change: before a comment, inside flow brackets, after a comma. */
function layoutKey(line: string): string {
  return line
    .replace(/[ \t]+#/, ' #')
    .replace(/([[{])[ \t]+/g, '$1')
    .replace(/[ \t]+([\]}])/g, '$1')
    .replace(/,[ \t]*/g, ', ')
    .trimEnd();
}
