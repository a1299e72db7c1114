/**
 * Numbers, sizes, rates and times in words for the console's tables and tooltips. Pure; `now`
 * is a parameter so tests pin it.
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB" (powers of 1024, like the config's size strings). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '–';
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value < 10 ? value.toFixed(1) : String(Math.round(value));
  return `${bytes < 0 ? '-' : ''}${text} ${UNITS[unit]}`;
}

/** 12345 -> "12,345" in the reader's locale-free form. */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Requests per second: "0", "0.4", "12", "1,234". */
export function formatRate(n) {
  if (!Number.isFinite(n)) return '–';
  if (n === 0) return '0';
  if (Math.abs(n) < 10) return n.toFixed(1).replace(/\.0$/, '');
  return formatCount(n);
}

/** Milliseconds: "0.8 ms", "12 ms", "1.2 s", "3 min 4 s". */
export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return formatSeconds(ms / 1000);
}

/** Seconds as "42 s", "3 min 4 s", "2 h 5 min", "3 d 4 h". */
export function formatSeconds(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86400)} d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)} h` : ''}`;
}

/** "just now", "12 s ago", "3 min ago", "in 5 s" for an ISO time (or epoch ms). */
export function timeAgo(when, now = Date.now()) {
  const at = typeof when === 'number' ? when : Date.parse(when);
  if (!Number.isFinite(at)) return 'never';
  const seconds = (now - at) / 1000;
  if (Math.abs(seconds) < 1) return 'just now';
  return seconds > 0 ? `${formatSeconds(seconds)} ago` : `in ${formatSeconds(-seconds)}`;
}

/** An ISO time as "2025-01-31 14:05:09 UTC": unambiguous for operators in several time zones. */
export function formatTime(when) {
  const at = typeof when === 'number' ? new Date(when) : new Date(when);
  if (Number.isNaN(at.getTime())) return '–';
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Whole days from now to `notAfter` (negative once expired). */
export function daysLeft(notAfter, now = Date.now()) {
  const at = Date.parse(notAfter);
  if (!Number.isFinite(at)) return null;
  return Math.floor((at - now) / 86_400_000);
}

/** "expired 3 days ago", "expired today", "expires today", "1 day left", "41 days left". */
export function expiryText(notAfter, now = Date.now()) {
  const at = Date.parse(notAfter);
  if (!Number.isFinite(at)) return 'no expiry known';
  if (at <= now) {
    const ago = Math.floor((now - at) / 86_400_000);
    return ago === 0 ? 'expired today' : `expired ${ago} day${ago === 1 ? '' : 's'} ago`;
  }
  const days = Math.floor((at - now) / 86_400_000);
  if (days === 0) return 'expires today';
  return `${days} day${days === 1 ? '' : 's'} left`;
}
