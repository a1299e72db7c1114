/**
 * A virtual service's access list (`access:`), checked on every request before its rate limits
 * and rules: a client outside it gets the list's status (403) and never reaches a rule or a
 * real server. The client is the exchange's (the peer, the PROXY header's, or a trusted
 * proxy's X-Forwarded-For).
 */
import type { AccessConfig } from '../config/rules.ts';
import type { Exchange } from '../exchange/exchange.ts';
import { FilterStatus, type HttpFilter } from '../exchange/filter.ts';
import { Termination } from '../exchange/termination.ts';
import { compileAccess, type CompiledAccess } from '../rules/access.ts';

export class AccessFilter implements HttpFilter {
  readonly name = 'access';
  readonly #access: CompiledAccess;

  constructor(config: AccessConfig) {
    this.#access = compileAccess(config);
  }

  onRequestHeaders(ex: Exchange): FilterStatus {
    if (this.#access.allows(ex.input())) return FilterStatus.CONTINUE;
    refuse(ex, this.#access.status, 'the access list of the virtual service');
    return FilterStatus.STOP;
  }
}

/** The answer to a refused client: the status and "access denied", the list in the log. */
export function refuse(ex: Exchange, status: number, why: string): void {
  const answer = ex.errorAnswer(status, 'access denied');
  ex.answer(status, answer.headers, answer.body, Termination.DENIED, `refused by ${why}`);
}
