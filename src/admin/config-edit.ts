/**
 * Set one real server's `state` in the text of a config file, changing nothing else: comments,
 * blank lines, key order, quoting and spacing stay byte for byte, so the file's history (git,
 * etckeeper) shows a one-line change. The edit is a splice at positions the `yaml` parser reports;
 * the result is parsed again and must mean exactly the old document with that one change, else
 * the edit is redone through the yaml AST (which may re-space a comment), and checked the same way.
 *
 * `state` is the one key that says whether a server takes traffic: an `enabled` key beside it is
 * removed, so the two can never contradict (enabled: false means state: disabled).
 */
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, type Document, Pair, parseDocument, Scalar, type YAMLMap } from 'yaml';
import { formatAddress, parseHostPort } from '../config/address.ts';
import { realServerState } from '../config/conflicts.ts';
import type { RealServerState } from '../config/schema.ts';
import { suggest } from '../config/suggest.ts';

export type EditResult =
  | { ok: true; text: string; changed: boolean; previous: RealServerState; pool: string }
  /** The file does not parse, or has no virtualServices list: the loader's problems say why. */
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'not-found'; message: string; suggestion?: string }
  | { ok: false; reason: 'unsupported'; message: string };

/** Same limits as the loader (load.ts): a config needs few aliases. */
const PARSE_OPTIONS = { uniqueKeys: true, version: '1.2' } as const;
const TO_JS = { maxAliasCount: 100 };
/** Lists longer than this are not spelt out in a not-found message. */
const MAX_LISTED = 10;

interface Located {
  /** Where the real server is written: a pool under pools:, or a virtual service's own (inline) pool. */
  list: 'pools' | 'virtualServices';
  vsIndex: number;
  rsIndex: number;
  /** The pool it is in (an inline pool is named after its virtual service). */
  pool: string;
  /** The document as plain data, and as it must read after the edit. */
  before: unknown;
  expected: unknown;
  previous: RealServerState;
}

/** Which pool: by its name, or as the default pool of a virtual service. */
export interface PoolTarget {
  kind: 'pool' | 'virtual-service';
  name: string;
}

export function editRealServerState(text: string, target: PoolTarget, address: string, state: RealServerState): EditResult {
  const virtualService = target.name;
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0) return { ok: false, reason: 'invalid' };
  const located = locate(doc, target, address, state);
  if (!('vsIndex' in located)) return located;
  if (isDeepStrictEqual(located.before, located.expected)) {
    return { ok: true, text, changed: false, previous: located.previous, pool: located.pool };
  }
  const node = realServerNode(doc, located);
  if (node === null) {
    return {
      ok: false,
      reason: 'unsupported',
      message: `real server ${address} in "${virtualService}" is written as a YAML alias or merge; change its state by editing the file, then reload`,
    };
  }
  for (const edit of [spliced(text, node, state), rewritten(text, located, state)]) {
    if (edit !== null && means(edit, located.expected)) return { ok: true, text: edit, changed: true, previous: located.previous, pool: located.pool };
  }
  return {
    ok: false,
    reason: 'unsupported',
    message: `could not set the state of real server ${address} in "${virtualService}" without changing anything else in the file; edit it by hand, then reload`,
  };
}

/**
 * Find the real server in the document's data (aliases resolved). `name` is a pool's name (under
 * pools:, or a virtual service's inline pool, named after it), or the name of a virtual service
 * whose default pool holds the server.
 */
function locate(doc: Document, target: PoolTarget, address: string, state: RealServerState): Located | Extract<EditResult, { ok: false }> {
  const name = target.name;
  let before: unknown;
  try {
    before = doc.toJS(TO_JS);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  const data = before as { virtualServices?: unknown; pools?: unknown } | null;
  const services = Array.isArray(data?.virtualServices) ? (data.virtualServices as Array<Record<string, unknown> | null>) : [];
  const pools = Array.isArray(data?.pools) ? (data.pools as Array<Record<string, unknown> | null>) : [];
  if (services.length === 0 && pools.length === 0) return { ok: false, reason: 'invalid' };
  const named = (entry: Record<string, unknown> | null): string => (typeof entry?.['name'] === 'string' ? entry['name'] : '');
  let list: Located['list'] = 'pools';
  let index = target.kind === 'pool' ? pools.findIndex((p) => named(p) === name) : -1;
  if (index === -1) {
    const vsIndex = services.findIndex((vs) => named(vs) === name);
    if (vsIndex === -1) {
      // An inline pool is named after its virtual service, so both lists hold pool names.
      const names = [...(target.kind === 'pool' ? pools.map(named) : []), ...services.map(named)].filter((n) => n !== '');
      const what = target.kind === 'pool' ? 'pool' : 'virtual service';
      return notFound(`no ${what} named "${name}"`, name, names, target.kind === 'pool' ? 'pools' : 'virtual services');
    }
    if (target.kind === 'pool' && !Array.isArray(services[vsIndex]!['realServers'])) {
      const names = [...pools.map(named), ...services.filter((vs) => Array.isArray(vs?.['realServers'])).map(named)].filter((n) => n !== '');
      return notFound(`no pool named "${name}" (virtual service "${name}" uses pool "${String(services[vsIndex]!['pool'])}")`, name, names, 'pools');
    }
    const vs = services[vsIndex]!;
    if (Array.isArray(vs['realServers'])) {
      list = 'virtualServices';
      index = vsIndex;
    } else {
      // A virtual service that uses a shared pool: the server is that pool's.
      index = pools.findIndex((p) => named(p) === vs['pool']);
      if (index === -1) return { ok: false, reason: 'invalid' };
    }
  }
  const entry = (list === 'pools' ? pools : services)[index]!;
  const servers = entry['realServers'];
  if (!Array.isArray(servers)) return { ok: false, reason: 'invalid' };
  const pool = named(entry);
  const wanted = canonicalAddress(address);
  const addresses = servers.map((rs: { address?: unknown } | null) => (typeof rs?.address === 'string' ? canonicalAddress(rs.address) : ''));
  const rsIndex = addresses.indexOf(wanted);
  if (rsIndex === -1) {
    const owner = list === 'pools' ? `pool "${pool}"` : `virtual service "${pool}"`;
    return notFound(`no real server ${address} in ${owner}`, wanted, addresses.filter((a) => a !== ''), 'its real servers');
  }
  const current = servers[rsIndex] as { enabled?: unknown; state?: RealServerState };
  const previous = realServerState({ enabled: current.enabled !== false, state: current.state });
  const expected = structuredClone(before) as Record<string, Array<{ realServers: Array<Record<string, unknown>> }>>;
  const edited = expected[list]![index]!.realServers[rsIndex]!;
  delete edited['enabled'];
  edited['state'] = state;
  return { list, vsIndex: index, rsIndex, pool, before, expected, previous };
}

function notFound(message: string, input: string, candidates: readonly string[], listName: string): Extract<EditResult, { ok: false }> {
  const suggestion = suggest(input, candidates);
  let text = message;
  if (suggestion !== undefined) text += `; did you mean ${JSON.stringify(suggestion)}?`;
  if (candidates.length > 0 && candidates.length <= MAX_LISTED) text += ` (${listName}: ${candidates.join(', ')})`;
  return suggestion === undefined ? { ok: false, reason: 'not-found', message: text } : { ok: false, reason: 'not-found', message: text, suggestion };
}

/** 127.0.0.1:9001 and [2001:DB8::1]:80 as the status shows them; text that is no address stays as it is. */
export function canonicalAddress(text: string): string {
  const parsed = parseHostPort(text, { wildcard: false });
  return parsed.ok ? formatAddress(parsed.value) : text;
}

/** The real server's own mapping node; null when it is an alias (editing it would change others). */
function realServerNode(doc: Document, at: Located): YAMLMap | null {
  const services = doc.get(at.list, true);
  if (!isSeq(services)) return null;
  const vs = services.items[at.vsIndex];
  if (!isMap(vs)) return null;
  const servers = vs.get('realServers', true);
  if (!isSeq(servers)) return null;
  const rs = servers.items[at.rsIndex];
  return isMap(rs) ? (rs as YAMLMap) : null;
}

function pairOf(map: YAMLMap, key: string): Pair<Scalar, unknown> | undefined {
  return map.items.find((p): p is Pair<Scalar, unknown> => isScalar(p.key) && p.key.value === key);
}

/** `text` written in the quoting of `like` (a JSON file stays JSON: "state": "drain"). */
function styled(text: string, like: Scalar): string {
  if (like.type === 'QUOTE_DOUBLE') return JSON.stringify(text);
  if (like.type === 'QUOTE_SINGLE') return `'${text}'`;
  return text;
}

interface Splice {
  at: number;
  end: number;
  insert: string;
}

/** The edit as splices of the original text; null when a case is not one it handles. */
function spliced(text: string, rs: YAMLMap, state: RealServerState): string | null {
  const statePair = pairOf(rs, 'state');
  const enabledPair = pairOf(rs, 'enabled');
  const addressPair = pairOf(rs, 'address');
  const splices: Splice[] = [];
  if (statePair !== undefined) {
    const value = statePair.value;
    const [start, end] = isScalar(value) ? (value.range ?? []) : [];
    if (!isScalar(value) || start === undefined || end === undefined) return null;
    // `state:` with no value: the new value needs a space after the colon.
    splices.push({ at: start, end, insert: `${start === end ? ' ' : ''}${styled(state, value.source === '' ? statePair.key : value)}` });
    if (enabledPair !== undefined) {
      const removal = pairLine(text, rs, enabledPair);
      if (removal === null) return null;
      splices.push(removal);
    }
  } else if (enabledPair !== undefined) {
    const key = enabledPair.key;
    const value = enabledPair.value;
    if (!isScalar(value) || key.range == null || value.range == null) return null;
    splices.push({ at: key.range[0], end: key.range[1], insert: styled('state', key) });
    splices.push({ at: value.range[0], end: value.range[1], insert: styled(state, key) });
  } else {
    if (addressPair === undefined || !isScalar(addressPair.value) || addressPair.key.range == null || addressPair.value.range == null) return null;
    const key = addressPair.key;
    const keyStart = addressPair.key.range[0];
    const entry = `${styled('state', key)}: ${styled(state, key)}`;
    const valueEnd = addressPair.value.range[1];
    if (rs.flow === true) {
      splices.push({ at: valueEnd, end: valueEnd, insert: `, ${entry}` });
    } else {
      // On its own line below the address (after any comment on the address line), aligned with it.
      const indent = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
      const newline = text.indexOf('\n', valueEnd);
      const crlf = newline > 0 && text[newline - 1] === '\r';
      const at = newline === -1 ? text.length : crlf ? newline - 1 : newline;
      splices.push({ at, end: at, insert: `${crlf ? '\r\n' : '\n'}${' '.repeat(indent)}${entry}` });
    }
  }
  let result = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) result = result.slice(0, s.at) + s.insert + result.slice(s.end);
  return result;
}

/** Remove a block mapping pair that has a line to itself (key, scalar value, maybe a comment); else null. */
function pairLine(text: string, map: YAMLMap, pair: Pair<Scalar, unknown>): Splice | null {
  if (map.flow === true || !isScalar(pair.value) || pair.key.range == null || pair.value.range == null) return null;
  const lineStart = text.lastIndexOf('\n', pair.key.range[0] - 1) + 1;
  if (text.slice(lineStart, pair.key.range[0]).trim() !== '') return null;
  const valueEnd = pair.value.range[1];
  const newline = text.indexOf('\n', valueEnd);
  const lineEnd = newline === -1 ? text.length : newline + 1;
  if (!/^[ \t]*(#.*)?\r?\n?$/.test(text.slice(valueEnd, lineEnd))) return null;
  return { at: lineStart, end: lineEnd, insert: '' };
}

/** The edit through the yaml AST: always possible, but yaml re-prints the whole document. */
function rewritten(text: string, at: Located, state: RealServerState): string | null {
  const doc = parseDocument(text, PARSE_OPTIONS);
  const rs = realServerNode(doc, at);
  if (rs === null) return null;
  const statePair = pairOf(rs, 'state');
  const enabledPair = pairOf(rs, 'enabled');
  if (statePair !== undefined) {
    if (isScalar(statePair.value)) statePair.value.value = state;
    else statePair.value = new Scalar(state);
    if (enabledPair !== undefined) rs.items.splice(rs.items.indexOf(enabledPair), 1);
  } else if (enabledPair !== undefined) {
    enabledPair.key.value = 'state';
    const value = new Scalar(state);
    if (enabledPair.key.type === 'QUOTE_DOUBLE') value.type = 'QUOTE_DOUBLE';
    enabledPair.value = value;
  } else {
    const like = pairOf(rs, 'address')?.key;
    const key = new Scalar('state');
    const value = new Scalar(state);
    if (like?.type === 'QUOTE_DOUBLE') key.type = value.type = 'QUOTE_DOUBLE';
    rs.items.push(new Pair(key, value));
  }
  return doc.toString();
}

/** Does `text` parse cleanly to exactly `expected`? */
function means(text: string, expected: unknown): boolean {
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return false;
  try {
    return isDeepStrictEqual(doc.toJS(TO_JS), expected);
  } catch {
    return false;
  }
}
