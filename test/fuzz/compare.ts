/**
 * The differential property, one-directional: whatever Fulcrum accepts, llhttp accepts and frames
 * the same way. Fulcrum may refuse more (missing or invalid Host, TE in HTTP/1.0, CONNECT,
 * obs-text in the target, odd forms llhttp tolerates) and may close earlier; it may never accept
 * more, and two parsers that agree on a message must agree on where the next one starts. The
 * exceptions, method tokens and HTTP/1.x >= 2, are aligned first (intended-differences.ts).
 */
import { BodyKind } from '../../src/http/request-head.ts';
import { type FulcrumVerdict, type HeadSearch, fulcrumFrame } from './fulcrum-framing.ts';
import { alignForOracle } from './intended-differences.ts';
import type { NodeVerdict } from './llhttp-oracle.ts';

/** A well-formed request appended to every case: where the stream ends, both must agree on it. */
export const SENTINEL = 'GET /sentinel HTTP/1.1\r\nHost: s\r\n\r\n';

function pairs(raw: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Returns null when the verdicts agree, else what differs. */
export function divergence(fulcrum: FulcrumVerdict, node: NodeVerdict): string | null {
  for (let i = 0; i < fulcrum.messages.length; i++) {
    const f = fulcrum.messages[i]!;
    const n = node.messages[i];
    const at = `request #${i + 1} (${f.method} ${JSON.stringify(f.target)})`;
    if (n === undefined) {
      const why = node.error ?? (node.refusedAfterHead ? 'answered 4xx' : 'no request event');
      return `${at}: Fulcrum accepted the head, llhttp did not (${why})`;
    }
    if (n.method !== f.method) return `${at}: method ${f.method} vs llhttp ${n.method}`;
    if (n.url !== f.target) return `${at}: target ${JSON.stringify(f.target)} vs llhttp ${JSON.stringify(n.url)}`;
    if (n.version !== f.version) return `${at}: version ${f.version} vs llhttp ${n.version}`;
    const nodeHeaders = pairs(n.rawHeaders);
    if (!same(nodeHeaders, f.headers)) {
      return `${at}: headers ${JSON.stringify(f.headers)} vs llhttp ${JSON.stringify(nodeHeaders)}`;
    }
    // From an upgrade on the engine tunnels bytes and parses no more.
    if (f.upgrade) return null;
    if (n.upgrade) return `${at}: llhttp switches protocols here, Fulcrum goes on parsing HTTP`;
    const last = i === fulcrum.messages.length - 1;
    if (f.complete) {
      if (!n.complete) return `${at}: Fulcrum ends the message at byte ${f.end}, llhttp ${node.error ?? 'wants more'}`;
      if (!n.body.equals(f.body)) {
        return `${at}: body ${JSON.stringify(f.body.toString('latin1'))} vs llhttp ${JSON.stringify(n.body.toString('latin1'))}`;
      }
      if (f.bodyKind === BodyKind.CHUNKED && !same(pairs(n.rawTrailers), f.trailers)) {
        return `${at}: trailers ${JSON.stringify(f.trailers)} vs llhttp ${JSON.stringify(pairs(n.rawTrailers))}`;
      }
    } else if (last && fulcrum.stop.kind === 'incomplete') {
      // Both must still be inside this body, having taken the same bytes as payload so far.
      if (n.complete) return `${at}: Fulcrum waits for more body, llhttp ended the message`;
      if (!n.body.equals(f.body)) {
        return `${at}: partial body ${JSON.stringify(f.body.toString('latin1'))} vs llhttp ${JSON.stringify(n.body.toString('latin1'))}`;
      }
    }
  }
  if (fulcrum.stop.kind === 'end') {
    if (node.error !== null) return `Fulcrum accepted the whole stream, llhttp failed with ${node.error}`;
    if (node.messages.length !== fulcrum.messages.length) {
      return `Fulcrum found ${fulcrum.messages.length} requests, llhttp ${node.messages.length}`;
    }
  }
  return null;
}

export function describeInput(bytes: Uint8Array): string {
  return JSON.stringify(Buffer.from(bytes).toString('latin1'));
}

/**
 * The whole check of one stream against one oracle: Fulcrum frames it with `search`, the intended
 * differences are aligned, llhttp parses the aligned bytes. Null when they agree, else what differs.
 */
export async function checkStream(
  stream: Buffer,
  search: HeadSearch,
  parse: (bytes: Buffer) => Promise<NodeVerdict>,
): Promise<string | null> {
  const aligned = alignForOracle(stream, fulcrumFrame(stream, search));
  const d = divergence(aligned.verdict, await parse(aligned.input));
  return d === null ? null : aligned.note === '' ? d : `${d} (${aligned.note})`;
}
