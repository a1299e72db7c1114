/**
 * Shrinks a diverging request to a minimal one of the same class: greedily drops a header
 * field, the query or the body, or puts a plainer host, client or method in, while the request
 * still diverges the same way. A generated request carries half a dozen fields that play no
 * part in most divergences; the one the report shows should carry only those that do.
 */
import { CLIENTS, type GeneratedRequest } from './rules-requests.ts';

/** Is the framing of the body (Content-Type, Content-Length) what this field is? */
const isBodyField = (name: string): boolean => /^content-(type|length)$/i.test(name);

/** Each request one step smaller than `request`. */
function* reductions(request: GeneratedRequest): Generator<GeneratedRequest> {
  for (let i = 0; i < request.headers.length; i++) {
    const [name] = request.headers[i]!;
    if (name.toLowerCase() === 'host' || isBodyField(name)) continue;
    yield { ...request, headers: request.headers.filter((_, j) => j !== i) };
  }
  const question = request.target.indexOf('?');
  if (question >= 0) yield { ...request, target: request.target.slice(0, question) };
  if (request.body !== '') yield { ...request, body: '', headers: request.headers.filter(([name]) => !isBodyField(name)) };
  const host = request.headers.findIndex(([name]) => name.toLowerCase() === 'host');
  if (host > 0) yield { ...request, headers: [request.headers[host]!, ...request.headers.filter((_, j) => j !== host)] };
  // Plainer values: a host no rule names, the first client, GET.
  if (host >= 0 && request.headers[host]![1] !== PLAIN_HOST) {
    yield { ...request, headers: request.headers.map((field, j): [string, string] => (j === host ? [field[0], PLAIN_HOST] : field)) };
  }
  if (request.client !== CLIENTS[0]) yield { ...request, client: CLIENTS[0] };
  if (request.method !== 'GET') yield { ...request, method: 'GET', body: '', headers: request.headers.filter(([name]) => !isBodyField(name)) };
}

const PLAIN_HOST = 'example.com';

/** The smallest request reachable from `request` by reductions that `sameClass` accepts. */
export async function shrink(request: GeneratedRequest, sameClass: (candidate: GeneratedRequest) => Promise<boolean>): Promise<GeneratedRequest> {
  let current = request;
  for (let progress = true; progress; ) {
    progress = false;
    for (const candidate of reductions(current)) {
      if (await sameClass(candidate)) {
        current = candidate;
        progress = true;
        break;
      }
    }
  }
  return current;
}
