/**
 * The life of one periodically probed target, shared by the real servers' health checks
 * (monitor.ts), the adaptive agents' polls (src/agent) and the GSLB site checks (src/gslb): one
 * timer, the abort of the probe in flight, and `stopped`, which makes a late result stale (a
 * reload removed the target while it was being probed).
 */
export interface ProbeSlot {
  timer: NodeJS.Timeout | null;
  abort: AbortController | null;
  stopped: boolean;
}

/** Run `next` after `delay` ms. unref: probes alone never keep the process alive. */
export function scheduleProbe(slot: ProbeSlot, delay: number, next: () => Promise<void>): void {
  slot.timer = setTimeout(() => void next(), delay).unref();
}

/**
 * One probe, abortable through the slot; a probe that throws (a bug, not a failed check) becomes
 * a failure whose reason says so, through `failed`. Resolves null when the slot was stopped
 * while it ran: the result belongs to nothing any more.
 */
export async function probeOnce<R>(slot: ProbeSlot, probe: (signal: AbortSignal) => Promise<R>, failed: (message: string) => R): Promise<R | null> {
  slot.timer = null;
  const abort = new AbortController();
  slot.abort = abort;
  let result: R;
  try {
    result = await probe(abort.signal);
  } catch (error) {
    result = failed(error instanceof Error ? error.message : String(error));
  }
  slot.abort = null;
  return slot.stopped ? null : result;
}

/** Stop for good: no next probe, the one in flight abandoned (its socket or process closed). */
export function haltProbe(slot: ProbeSlot): void {
  slot.stopped = true;
  if (slot.timer !== null) clearTimeout(slot.timer);
  slot.timer = null;
  slot.abort?.abort();
  slot.abort = null;
}
