import { z } from 'zod';
import { issuesFromZod } from '../../src/config/issues.ts';
import { type RuleConfig, RulesSchema } from '../../src/config/rules.ts';
import { parseIpInto } from '../../src/ip/bytes.ts';
import type { MatchInput, MutableHeaders } from '../../src/rules/types.ts';
import type { ClientCertificate } from '../../src/tls/client-certificate.ts';

export interface RequestSpec {
  method?: string;
  host?: string;
  path?: string;
  query?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  client?: string;
  country?: string | null;
  clientCertificate?: ClientCertificate | null;
}

/** A MatchInput over plain values that counts the reads of each lazy accessor ("header:x-a", "country"). */
export function request(spec: RequestSpec = {}): MatchInput & { reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (key: string): void => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
  };
  const buffer = new Uint8Array(16);
  const family = spec.client === undefined ? 0 : parseIpInto(spec.client, buffer);
  const headers = new Map(Object.entries(spec.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  return {
    method: spec.method ?? 'GET',
    host: spec.host ?? 'www.example.com',
    path: spec.path ?? '/',
    query: spec.query ?? '',
    header(lowerName: string) {
      count(`header:${lowerName}`);
      return headers.get(lowerName) ?? null;
    },
    cookie(name: string) {
      count(`cookie:${name}`);
      return spec.cookies?.[name] ?? null;
    },
    clientFamily: family,
    clientBytes: buffer.slice(0, family === 6 ? 16 : 4),
    country() {
      count('country');
      return spec.country ?? null;
    },
    clientCertificate() {
      count('clientCertificate');
      return spec.clientCertificate ?? null;
    },
    reads,
  };
}

/** Header fields in order, as the exchange keeps them. */
export class HeaderList implements MutableHeaders {
  readonly fields: [string, string][];

  constructor(fields: [string, string][] = []) {
    this.fields = fields.map(([name, value]) => [name, value]);
  }

  get(lowerName: string): string | null {
    return this.fields.find(([name]) => name.toLowerCase() === lowerName)?.[1] ?? null;
  }

  getAll(lowerName: string): string[] {
    return this.fields.filter(([name]) => name.toLowerCase() === lowerName).map(([, value]) => value);
  }

  remove(lowerName: string): void {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i]![0].toLowerCase() === lowerName) this.fields.splice(i, 1);
  }

  set(name: string, value: string): void {
    this.remove(name.toLowerCase());
    this.add(name, value);
  }

  add(name: string, value: string): void {
    this.fields.push([name, value]);
  }
}

/** Parse a rule list (as YAML would give it) or throw with the problems. */
export function rules(data: unknown[]): RuleConfig[] {
  return z.parse(RulesSchema, data);
}

export interface Problem {
  path: string;
  message: string;
  suggestion?: string;
  allowed?: string;
}

/** The problems a user would see for this rule list: dotted path, message, suggestion. */
export function problems(data: unknown): Problem[] {
  const result = RulesSchema.safeParse(data);
  if (result.success) return [];
  return issuesFromZod(result.error.issues, RulesSchema, data).map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${segment}`)).join('').replace(/^\./, ''),
    message: issue.message,
    ...(issue.suggestion === undefined ? {} : { suggestion: issue.suggestion }),
    ...(issue.allowed === undefined ? {} : { allowed: issue.allowed }),
  }));
}

/** The problems of one rule (at index 0). */
export function ruleProblems(rule: Record<string, unknown>): Problem[] {
  return problems([{ name: 'r', ...rule }]);
}
