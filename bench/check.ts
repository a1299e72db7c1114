/**
 * The requests a column must answer correctly before it is measured: the scenario's own request
 * (status 200, the body size), and through a proxy each of the scenario's probes (rules.ts).
 * node:http rather than fetch, which would not send the Host header the rules match on.
 */
import http from 'node:http';
import { parseSeen, type Probe } from './rules.ts';
import { POST_BYTES, type Scenario } from './scenarios.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

interface Ask {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  localAddress?: string;
}

/** "Name: value" lines (wrk's -H) as a header object. */
export function headerRecord(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

function ask(base: string, { method, path, headers, body, localAddress }: Ask): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent: false,
        headers: method === 'GET' ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body ?? '')) },
        ...(localAddress !== undefined ? { localAddress } : {}),
        signal: AbortSignal.timeout(10_000),
      },
      (res) => {
        let bodyBytes = 0;
        res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyBytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** What is wrong with `answer` for `probe`; empty when nothing is. */
function probeProblems(probe: Probe, answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status !== probe.status) problems.push(`status ${answer.status}, expected ${probe.status}`);
  const pool = answer.headers['x-seen-pool'];
  if (probe.pool !== undefined && pool !== probe.pool) problems.push(`answered by pool ${pool ?? '(none)'}, expected ${probe.pool}`);
  const seen = parseSeen(answer.headers['x-seen'] as string | undefined);
  for (const [field, value] of Object.entries(probe.seen ?? {})) {
    if ((seen[field] ?? '') !== value) problems.push(`nginx saw ${field}=${JSON.stringify(seen[field] ?? '')}, expected ${JSON.stringify(value)}`);
  }
  for (const [name, value] of Object.entries(probe.response ?? {})) {
    const got = answer.headers[name];
    if (value === null && got !== undefined) problems.push(`response has ${name}: ${String(got)}, expected none`);
    if (value !== null && got !== value) problems.push(`response ${name}: ${got === undefined ? '(none)' : String(got)}, expected ${value}`);
  }
  return problems;
}

/**
 * Throws unless the column at `base` answers the scenario's request with 200 and the expected body
 * size, and (through a proxy) every probe as stated.
 */
export async function checkScenario(base: string, scenario: Scenario, direct: boolean): Promise<void> {
  const answer = await ask(base, {
    method: scenario.method,
    path: direct ? (scenario.directPath ?? scenario.path) : scenario.path,
    headers: headerRecord(scenario.headers),
    ...(scenario.method === 'POST' ? { body: 'x'.repeat(POST_BYTES) } : {}),
  });
  if (answer.status !== 200) throw new Error(`check request: status ${answer.status}`);
  if (answer.bodyBytes !== scenario.expectBytes) throw new Error(`check request: body of ${answer.bodyBytes} bytes, expected ${scenario.expectBytes}`);
  if (direct) return;
  for (const probe of scenario.probes ?? []) {
    const method = probe.method ?? 'GET';
    const problems = probeProblems(probe, await ask(base, { method, path: probe.path, headers: probe.headers ?? {}, ...(probe.localAddress !== undefined ? { localAddress: probe.localAddress } : {}) }));
    if (problems.length > 0) throw new Error(`probe for rule ${probe.rule} (${method} ${probe.path}): ${problems.join('; ')}`);
  }
}
