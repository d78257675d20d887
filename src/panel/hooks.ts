import { useEffect, useState } from 'react';

/**
 * The current time in milliseconds, re-rendering every second while
 * `ticking` is true (so running durations count up on their own).
 */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!ticking) {
      return;
    }
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return now;
}
