import { useEffect, useState } from 'react';

import { IBackendCapabilities } from '../api';
import { ServerBackends } from '../backends';

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

/**
 * What each backend can do, by name (null while not known), re-rendering once
 * the backends are fetched; fetches them when no fetch has yet succeeded.
 */
export function useCapabilities(
  backends: ServerBackends | undefined
): (backend: string) => IBackendCapabilities | null {
  const [, setRevision] = useState(0);
  useEffect(() => {
    if (!backends) {
      return;
    }
    let mounted = true;
    const onChanged = () => setRevision(revision => revision + 1);
    backends.changed.connect(onChanged);
    // Also once loaded before this effect ran; a failed fetch leaves the
    // abilities unknown, and the next use tries again.
    backends.load().then(
      () => mounted && onChanged(),
      () => undefined
    );
    return () => {
      mounted = false;
      backends.changed.disconnect(onChanged);
    };
  }, [backends]);
  return backend => backends?.capabilities(backend) ?? null;
}
