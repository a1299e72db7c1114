// Types of health.js for the Node tests (test/console).
export interface Health {
  up: boolean;
  reason: string;
  since?: string;
  check?: string;
  lastCheck: null | { at: string; ok: boolean; latencyMs: number; reason: string };
  checks?: { passed: number; failed: number };
}
export interface ServerLike {
  state: string;
  health: Health;
  ejected?: boolean;
  activeRequests?: number;
}
export interface Shown {
  word: 'up' | 'down' | 'draining' | 'disabled';
  tone: 'up' | 'down' | 'drain' | 'off';
  label: string;
}
export function serverState(server: ServerLike): Shown;
export function healthSentence(health: Health | undefined, now?: number): string;
export function countStates(servers: ServerLike[]): { up: number; down: number; draining: number; disabled: number };
export function siteState(site: { up: boolean; checked: boolean; held: boolean; disabled: boolean }): Shown;
