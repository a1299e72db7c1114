/**
 * Hooks the pages share: poll an endpoint while the tab is visible (a hidden tab costs the
 * server nothing), and load something once with its error.
 */
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';

/**
 * Call `load` now and every `intervalMs` while the document is visible; `deps` restart it.
 * @returns {{data: any, error: Error | null, reload: () => void}}
 */
export function usePoll(load, intervalMs, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const latest = useRef(load);
  latest.current = load;
  const tick = useRef(() => {});
  useEffect(() => {
    let stopped = false;
    let timer = null;
    let running = false;
    const run = async () => {
      if (running) return;
      running = true;
      try {
        const data = await latest.current();
        if (!stopped) setState({ data, error: null });
      } catch (error) {
        if (!stopped) setState((s) => ({ data: s.data, error }));
      } finally {
        running = false;
      }
    };
    const schedule = () => {
      clearInterval(timer);
      timer = null;
      if (document.visibilityState === 'visible' && intervalMs > 0) timer = setInterval(run, intervalMs);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') run();
      schedule();
    };
    tick.current = run;
    setState({ data: null, error: null });
    run();
    schedule();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, deps);
  const reload = useCallback(() => tick.current(), []);
  return { ...state, reload };
}

/** Load once per `deps`. */
export function useLoad(load, deps = []) {
  return usePoll(load, 0, deps);
}
