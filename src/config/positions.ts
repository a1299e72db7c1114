/**
 * Map a config path back to the line and column of the YAML text it came from.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { IssueTarget, PathSegment } from './problem.ts';

export interface Position {
  line: number;
  column: number;
}

/**
 * The position of the key or value at `path`; for 'parent', of the mapping that holds it. When
 * the path leaves the document (a missing key), the deepest node that exists is used.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  target: IssueTarget,
): Position {
  const steps = target === 'parent' ? path.slice(0, -1) : path;
  let node = resolve(doc, doc.contents);
  let at: Node | null | undefined = node;
  for (const [index, segment] of steps.entries()) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) break;
      const wantsKey = target === 'key' && index === steps.length - 1;
      // An empty value (`listen:`) has no text of its own; point at its key.
      if (wantsKey || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
        at = pair.key as Node;
        break;
      }
      next = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined) break;
    node = resolve(doc, next);
    at = node;
  }
  return positionOf(at, lineCounter);
}

function positionOf(node: Node | null | undefined, lineCounter: LineCounter): Position {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Follow an alias (*name) to the node it names, so paths work through anchors. */
function resolve(doc: Document, node: unknown): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return (node as Node | null) ?? null;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}
