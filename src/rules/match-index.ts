/**
 * The indexes that answer every host and path condition of a rule list in one pass per
 * request, whatever the number of rules: exact hosts in a Map, "*.example.com" wildcards in a
 * Map from suffix (walked once per label of the host), exact paths in a Map, and path prefixes
 * in a radix trie walked once along the path. Each reports the ids of the conditions (atoms)
 * that hold; the matcher treats every other indexed atom as false.
 */

/** Called with each atom id that holds; the matcher's one preallocated callback. */
export type AtomSink = (atom: number) => void;

/** Exact strings to atoms, e.g. hosts or exact paths. */
export class ExactIndex {
  readonly #atoms = new Map<string, number[]>();

  add(key: string, atom: number): void {
    const list = this.#atoms.get(key);
    if (list === undefined) this.#atoms.set(key, [atom]);
    else if (!list.includes(atom)) list.push(atom);
  }

  get empty(): boolean {
    return this.#atoms.size === 0;
  }

  visit(key: string, sink: AtomSink): void {
    const list = this.#atoms.get(key);
    if (list !== undefined) for (let i = 0; i < list.length; i++) sink(list[i]!);
  }
}

/**
 * "*.example.com" patterns, stored by suffix ("example.com"). A host is looked up once per dot:
 * a.b.example.com tries b.example.com, example.com and com, so the cost follows the host's
 * labels, not the number of patterns. example.com itself is not tried: the wildcard needs a non-empty label.
 */
export class WildcardIndex {
  readonly #bySuffix = new ExactIndex();

  add(suffix: string, atom: number): void {
    this.#bySuffix.add(suffix, atom);
  }

  get empty(): boolean {
    return this.#bySuffix.empty;
  }

  visit(host: string, sink: AtomSink): void {
    for (let dot = host.indexOf('.', 1); dot !== -1 && dot < host.length - 1; dot = host.indexOf('.', dot + 1)) {
      this.#bySuffix.visit(host.slice(dot + 1), sink);
    }
  }
}

interface TrieNode {
  /** The characters on the edge into this node. */
  label: string;
  atoms: number[];
  /** Children by the first character code of their label. */
  children: Map<number, TrieNode>;
}

/**
 * Path prefixes in a radix trie: each edge holds a run of characters, so that walking
 * "/static/css/site.css" costs a Map lookup per branching point and a startsWith per edge, and
 * visits every prefix that holds on the way down.
 */
export class PrefixTrie {
  readonly #root: TrieNode = { label: '', atoms: [], children: new Map() };
  #size = 0;

  get empty(): boolean {
    return this.#size === 0;
  }

  add(prefix: string, atom: number): void {
    this.#size++;
    let node = this.#root;
    let pos = 0;
    for (;;) {
      if (pos === prefix.length) {
        if (!node.atoms.includes(atom)) node.atoms.push(atom);
        return;
      }
      const code = prefix.charCodeAt(pos);
      const child = node.children.get(code);
      if (child === undefined) {
        node.children.set(code, { label: prefix.slice(pos), atoms: [atom], children: new Map() });
        return;
      }
      const common = commonLength(child.label, prefix, pos);
      if (common < child.label.length) {
        // Split the edge where the new prefix leaves it.
        const middle: TrieNode = { label: child.label.slice(0, common), atoms: [], children: new Map() };
        child.label = child.label.slice(common);
        middle.children.set(child.label.charCodeAt(0), child);
        node.children.set(code, middle);
        node = middle;
      } else {
        node = child;
      }
      pos += common;
    }
  }

  /** Report the atoms of every stored prefix of `path`, shortest first. */
  visit(path: string, sink: AtomSink): void {
    let node = this.#root;
    let pos = 0;
    for (;;) {
      const atoms = node.atoms;
      for (let i = 0; i < atoms.length; i++) sink(atoms[i]!);
      if (pos >= path.length) return;
      const child = node.children.get(path.charCodeAt(pos));
      if (child === undefined || !path.startsWith(child.label, pos)) return;
      pos += child.label.length;
      node = child;
    }
  }
}

/** How many characters `label` shares with `text` from `pos`. */
function commonLength(label: string, text: string, pos: number): number {
  let i = 0;
  while (i < label.length && pos + i < text.length && label.charCodeAt(i) === text.charCodeAt(pos + i)) i++;
  return i;
}
