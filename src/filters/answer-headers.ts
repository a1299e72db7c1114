/**
 * The header list of an answer Fulcrum writes itself (a rule's redirect, respond or deny), as a
 * MutableHeaders, so a rule's responseHeaders edit it as they would a real server's response.
 */
import type { MutableHeaders } from '../exchange/headers.ts';

export class AnswerHeaders implements MutableHeaders {
  readonly list: Array<[string, string]>;

  constructor(headers: ReadonlyArray<readonly [string, string]>) {
    this.list = headers.map(([name, value]) => [name, value]);
  }

  get(lowerName: string): string | null {
    return this.list.find(([name]) => name.toLowerCase() === lowerName)?.[1] ?? null;
  }

  getAll(lowerName: string): string[] {
    return this.list.filter(([name]) => name.toLowerCase() === lowerName).map(([, value]) => value);
  }

  remove(lowerName: string): void {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]![0].toLowerCase() === lowerName) this.list.splice(i, 1);
  }

  set(name: string, value: string): void {
    this.remove(name.toLowerCase());
    this.list.push([name, value]);
  }

  add(name: string, value: string): void {
    this.list.push([name, value]);
  }
}
