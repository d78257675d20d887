/**
 * The tail of a job's log, following new output until the job is done.
 */
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import { ILogChunk, MLPApiError, MLPClient } from '../api';

/** How much of the log to show at first, and to fetch per follow-up read. */
const CHUNK_BYTES = 64 * 1024;
/** The most text kept on the page; older lines are dropped from the top. */
const MAX_CHARS = 512 * 1024;
/** The wait between reads once nothing more is waiting. */
export const FOLLOW_INTERVAL_MS = 1000;
/** Where the log box's height, as the user dragged it, is kept for the session. */
const HEIGHT_KEY = 'jupyter-mlp:log-height';

export interface ILogViewProps {
  client: MLPClient;
  jobId: string;
  /** Whether the job may still write to its log. */
  live: boolean;
  /**
   * Whether the box can be dragged taller (in the sidebar), its height kept
   * for the session; a tab's log fills its tab instead.
   */
  resizable?: boolean;
}

/**
 * When to read the log again after `chunk`: never once it is complete, at
 * once while a log with byte offsets says more bytes are waiting, otherwise
 * after the follow interval (nothing new came, or a cloud log, which cannot
 * say whether more is waiting).
 */
export function nextReadDelay(chunk: ILogChunk): number | null {
  if (chunk.complete) {
    return null;
  }
  const moved = chunk.next_cursor !== chunk.cursor;
  const waiting =
    chunk.next_offset !== undefined &&
    chunk.size !== undefined &&
    chunk.next_offset < chunk.size;
  return moved && waiting ? 0 : FOLLOW_INTERVAL_MS;
}

/** A piece of the log and the byte offset it starts at (null: the log has none). */
interface IPiece {
  offset: number | null;
  data: string;
}

/** The log box's height as last dragged this session, or null. */
function savedHeight(): number | null {
  const height = Number(window.sessionStorage.getItem(HEIGHT_KEY));
  return Number.isFinite(height) && height > 0 ? height : null;
}

/** Keep the box's dragged height for the session, and start from the kept one. */
function useRememberedHeight(
  box: React.RefObject<HTMLElement>,
  enabled: boolean
): void {
  useEffect(() => {
    const node = box.current;
    if (!enabled || !node) {
      return;
    }
    const height = savedHeight();
    if (height !== null) {
      node.style.height = `${height}px`;
    }
    // A drag of the resize handle sets the inline height; nothing else does.
    const observer = new ResizeObserver(() => {
      if (node.style.height) {
        window.sessionStorage.setItem(
          HEIGHT_KEY,
          String(Math.round(node.getBoundingClientRect().height))
        );
      }
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [box, enabled]);
}

export function LogView({
  client,
  jobId,
  live,
  resizable = true
}: ILogViewProps): JSX.Element {
  /** Whether the runner's own lines (papermill's cell markers) are shown. */
  const [debug, setDebug] = useState(false);
  const [pieces, setPieces] = useState<IPiece[]>([]);
  const [status, setStatus] = useState<string | null>('Loading log…');
  /** Why the server cannot read the log, as it said in the last chunk. */
  const [logError, setLogError] = useState<string | null>(null);
  const [logNote, setLogNote] = useState<string | null>(null);
  const [complete, setComplete] = useState(false);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  /** Where the next read starts; null before the first read (which takes the tail). */
  const nextCursor = useRef<string | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const preRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  /** Set while earlier text is put on top: keep the reader's place. */
  const keepPlace = useRef<number | null>(null);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    nextCursor.current = null;
    setPieces([]);
    setComplete(false);
    setLogError(null);
    setLogNote(null);
    setStatus('Loading log…');

    const append = (chunk: ILogChunk) => {
      if (!chunk.data) {
        return;
      }
      const piece = { offset: chunk.offset ?? null, data: chunk.data };
      setPieces(previous => {
        const next = [...previous, piece];
        // Drop the oldest pieces past the limit; "load earlier" brings them back.
        let total = next.reduce((sum, piece) => sum + piece.data.length, 0);
        while (total > MAX_CHARS && next.length > 1) {
          total -= next.shift()!.data.length;
        }
        return next;
      });
    };

    const read = async (): Promise<void> => {
      // Whether the job was still live before this read: only then is a
      // failed read tried again.
      const wasLive = liveRef.current;
      try {
        const chunk =
          nextCursor.current === null
            ? await client.getLogs(jobId, { tail: CHUNK_BYTES }, debug)
            : await client.getLogs(
                jobId,
                { cursor: nextCursor.current, limit: CHUNK_BYTES },
                debug
              );
        if (cancelled) {
          return;
        }
        append(chunk);
        nextCursor.current = chunk.next_cursor;
        setStatus(null);
        setLogError(chunk.error || null);
        setLogNote(chunk.note || null);
        const delay = nextReadDelay(chunk);
        if (delay === null) {
          setComplete(true);
          return;
        }
        timer = window.setTimeout(() => void read(), delay);
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
  }, [client, jobId, debug]);
  useRememberedHeight(preRef, resizable);

  // Only a log with byte offsets (a file) can be read backwards from where the view starts.
  const start = pieces.length ? pieces[0].offset : null;
  const text = pieces.map(piece => piece.data).join('');

  const loadEarlier = async (before: number) => {
    const from = Math.max(0, before - CHUNK_BYTES);
    setLoadingEarlier(true);
    try {
      const chunk = await client.getLogs(
        jobId,
        { offset: from, limit: before - from },
        debug
      );
      const pre = preRef.current;
      keepPlace.current = pre ? pre.scrollHeight - pre.scrollTop : null;
      setPieces(previous =>
        previous.length && previous[0].offset === before
          ? [{ offset: chunk.offset ?? from, data: chunk.data }, ...previous]
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
      <label
        className="jp-mlp-LogView-debug"
        title="Also show the runner's own lines (papermill's cell markers, kernel warnings)"
      >
        <input
          type="checkbox"
          checked={debug}
          onChange={event => setDebug(event.currentTarget.checked)}
        />{' '}
        Show runner lines
      </label>
      {start !== null && start > 0 && (
        <div className="jp-mlp-LogView-note">
          Showing the end of the log.{' '}
          <button
            type="button"
            className="jp-mlp-LinkButton"
            disabled={loadingEarlier}
            onClick={() => void loadEarlier(start)}
          >
            {loadingEarlier ? 'Loading…' : 'Load earlier'}
          </button>
        </div>
      )}
      {status !== null && <div className="jp-mlp-LogView-note">{status}</div>}
      {logNote !== null && (
        <div className="jp-mlp-LogView-note">{capitalize(logNote)}</div>
      )}
      {logError !== null && (
        <div className="jp-mlp-LogView-note jp-mlp-LogView-error" role="alert">
          {capitalize(logError)}
        </div>
      )}
      <pre
        ref={preRef}
        className="jp-mlp-LogView-text"
        onScroll={onScroll}
        tabIndex={0}
        aria-label="Job log"
      >
        {text}
      </pre>
      {!complete && live && status === null && logError === null && (
        <div className="jp-mlp-LogView-note">Following…</div>
      )}
    </div>
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
