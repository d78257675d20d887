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

/** A piece of the log and the byte offset it starts at. */
interface IPiece {
  offset: number;
  data: string;
}

export function LogView({ client, jobId, live }: ILogViewProps): JSX.Element {
  const [pieces, setPieces] = useState<IPiece[]>([]);
  const [status, setStatus] = useState<string | null>('Loading log…');
  const [complete, setComplete] = useState(false);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const nextOffset = useRef<number | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const preRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  /** Set while earlier text is put on top: keep the reader's place. */
  const keepPlace = useRef<number | null>(null);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    nextOffset.current = null;
    setPieces([]);
    setComplete(false);
    setStatus('Loading log…');

    const append = (offset: number, data: string) => {
      if (!data) {
        return;
      }
      setPieces(previous => {
        const next = [...previous, { offset, data }];
        // Drop the oldest pieces past the limit; "load earlier" brings them back.
        let total = next.reduce((sum, piece) => sum + piece.data.length, 0);
        while (total > MAX_CHARS && next.length > 1) {
          total -= next.shift()!.data.length;
        }
        return next;
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
        append(chunk.offset, chunk.data);
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

  const start = pieces.length ? pieces[0].offset : 0;
  const text = pieces.map(piece => piece.data).join('');

  const loadEarlier = async () => {
    const from = Math.max(0, start - CHUNK_BYTES);
    setLoadingEarlier(true);
    try {
      const chunk = await client.getLogs(jobId, {
        offset: from,
        limit: start - from
      });
      const pre = preRef.current;
      keepPlace.current = pre ? pre.scrollHeight - pre.scrollTop : null;
      setPieces(previous =>
        previous.length && previous[0].offset === start
          ? [{ offset: chunk.offset, data: chunk.data }, ...previous]
          : previous
      );
    } catch (error) {
      setStatus(`Could not read the log: ${(error as Error).message}`);
    } finally {
      setLoadingEarlier(false);
    }
  };

  // Keep the newest line in view unless the reader scrolled up; after text
  // was put on top, keep the line the reader was at.
  useEffect(() => {
    const pre = preRef.current;
    if (!pre) {
      return;
    }
    if (keepPlace.current !== null) {
      pre.scrollTop = pre.scrollHeight - keepPlace.current;
      keepPlace.current = null;
    } else if (stickToBottom.current) {
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
      {start > 0 && (
        <div className="jp-mlp-LogView-note">
          Showing the end of the log.{' '}
          <button
            type="button"
            className="jp-mlp-LinkButton"
            disabled={loadingEarlier}
            onClick={() => void loadEarlier()}
          >
            {loadingEarlier ? 'Loading…' : 'Load earlier'}
          </button>
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
