/**
 * The tail of a job's log, following new output until the job is done.
 */
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import { MLPApiError, MLPClient } from '../api';

/** How much of the log to show at first, and to fetch per follow-up read. */
const CHUNK_BYTES = 64 * 1024;
/** The most text kept on the page; older lines are dropped from the top. */
const MAX_CHARS = 512 * 1024;
const FOLLOW_INTERVAL_MS = 1000;

export interface ILogViewProps {
  client: MLPClient;
  jobId: string;
  /** Whether the job may still write to its log. */
  live: boolean;
}

export function LogView({ client, jobId, live }: ILogViewProps): JSX.Element {
  const [text, setText] = useState('');
  const [clipped, setClipped] = useState(false);
  const [status, setStatus] = useState<string | null>('Loading log…');
  const [complete, setComplete] = useState(false);
  const nextOffset = useRef<number | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const preRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    nextOffset.current = null;
    setText('');
    setClipped(false);
    setComplete(false);
    setStatus('Loading log…');

    const append = (data: string) => {
      if (!data) {
        return;
      }
      setText(previous => {
        const joined = previous + data;
        if (joined.length > MAX_CHARS) {
          setClipped(true);
          return joined.slice(joined.length - MAX_CHARS);
        }
        return joined;
      });
    };

    const read = async (): Promise<void> => {
      // Whether the job was still live before this read: a read that starts
      // after the job ended sees everything it wrote.
      const wasLive = liveRef.current;
      try {
        const chunk =
          nextOffset.current === null
            ? await client.getLogs(jobId, { tail: CHUNK_BYTES })
            : await client.getLogs(jobId, {
                offset: nextOffset.current,
                limit: CHUNK_BYTES
              });
        if (cancelled) {
          return;
        }
        if (nextOffset.current === null && chunk.offset > 0) {
          setClipped(true);
        }
        append(chunk.data);
        nextOffset.current = chunk.next_offset;
        setStatus(null);
        const caughtUp = chunk.next_offset >= chunk.size;
        if (chunk.complete || (!wasLive && caughtUp)) {
          setComplete(true);
          return;
        }
        // More is waiting: read it at once rather than after the interval.
        timer = window.setTimeout(
          () => void read(),
          caughtUp ? FOLLOW_INTERVAL_MS : 0
        );
      } catch (error) {
        if (cancelled) {
          return;
        }
        const notYet = error instanceof MLPApiError && error.status === 404;
        setStatus(
          notYet
            ? 'No log yet.'
            : `Could not read the log: ${(error as Error).message}`
        );
        if (wasLive) {
          timer = window.setTimeout(() => void read(), FOLLOW_INTERVAL_MS * 2);
        }
      }
    };

    void read();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [client, jobId]);

  // Keep the newest line in view unless the reader scrolled up.
  useEffect(() => {
    const pre = preRef.current;
    if (pre && stickToBottom.current) {
      pre.scrollTop = pre.scrollHeight;
    }
  }, [text]);

  const onScroll = () => {
    const pre = preRef.current;
    if (pre) {
      stickToBottom.current =
        pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    }
  };

  return (
    <div className="jp-mlp-LogView">
      {clipped && (
        <div className="jp-mlp-LogView-note">
          Showing the end of the log; open the log file for all of it.
        </div>
      )}
      {status !== null && <div className="jp-mlp-LogView-note">{status}</div>}
      <pre
        ref={preRef}
        className="jp-mlp-LogView-text"
        onScroll={onScroll}
        tabIndex={0}
        aria-label="Job log"
      >
        {text}
      </pre>
      {!complete && live && status === null && (
        <div className="jp-mlp-LogView-note">Following…</div>
      )}
    </div>
  );
}
