/**
 * Replace a node of the config's YAML document with new data while keeping what the administrator
 * wrote around the parts that did not change: comments on keys and values, flow or block style,
 * quoting, key order. A PUT of a whole virtual service whose scheduler changed then changes one
 * line of the file, not every line of the item (the `yaml` printer would write a new node without
 * any of its comments).
 *
 * Maps merge key by key (keys kept in the file's order, new ones after them, missing ones
 * removed); lists merge item by item, matched by their `name` or `address` when they have one (a
 * real server removed from the middle takes its own comment away, not its neighbour's), else by
 * position; a scalar keeps its node (and the comment on it) and takes the new value. Anything else
 * is a new node.
 */
import { isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';

export function mergeNode(doc: Document, node: unknown, value: unknown): Node {
  if (isMap(node) && isPlainObject(value)) {
    for (const pair of [...node.items] as Pair[]) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' || !Object.hasOwn(value, key)) node.delete(pair.key);
    }
    for (const [key, next] of Object.entries(value)) {
      const existing = node.get(key, true);
      node.set(key, existing === undefined ? doc.createNode(next) : mergeNode(doc, existing, next));
    }
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    const old = [...node.items];
    const unused = new Set(old);
    node.items = value.map((next, index) => {
      const id = idOf(next);
      // A keyed item takes the old item of its id; an item without one, the old item at its place (if that has no id either).
      const candidate = id !== undefined ? old.find((n) => unused.has(n) && idOf(n) === id) : idOf(old[index]) === undefined ? old[index] : undefined;
      if (candidate === undefined || !unused.has(candidate)) return doc.createNode(next);
      unused.delete(candidate);
      return mergeNode(doc, candidate, next);
    });
    return node;
  }
  if (isScalar(node) && isScalarValue(value)) {
    node.value = value;
    return node;
  }
  return doc.createNode(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isScalarValue(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** An item's identity in a keyed list: its name or address, as data or as a node of the document. */
function idOf(item: unknown): string | undefined {
  const id = isMap(item) ? (item.get('name') ?? item.get('address')) : isPlainObject(item) ? (item.name ?? item.address) : undefined;
  return typeof id === 'string' ? id : undefined;
}
