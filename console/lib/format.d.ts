// Types of format.js for the Node tests (test/console).
export function formatBytes(bytes: number): string;
export function formatCount(n: number): string;
export function formatRate(n: number): string;
export function formatMs(ms: number): string;
export function formatSeconds(seconds: number): string;
export function timeAgo(when: string | number, now?: number): string;
export function formatTime(when: string | number): string;
export function daysLeft(notAfter: string, now?: number): number | null;
export function expiryText(notAfter: string, now?: number): string;
