/**
 * Why a job failed, shown before anything else: its message, the end of its
 * log, and a way to the notebook cell that failed or the cell the code came from.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import { IJob, MLPClient } from '../api';
import { failedCell, sourceCell, sourceCellText } from './describe';

/** How many bytes of the log's end to show with a failed job's error. */
const FAILURE_TAIL_BYTES = 4096;
const FAILURE_TAIL_LINES = 15;

/** Open a notebook at one of its cells: by id when known, else at its 0-based index. */
export type OpenNotebookAt = (
  path: string,
  cellIndex: number,
  cellId?: string | null
) => void;

export function FailureSummary({
  client,
  job,
  onOpenNotebookAt
}: {
  client: MLPClient;
  job: IJob;
  onOpenNotebookAt: OpenNotebookAt;
}): JSX.Element {
  const failed = failedCell(job);
  const cell = sourceCell(job);
  const [tail, setTail] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    client
      .getLogs(job.id, { tail: FAILURE_TAIL_BYTES })
      .then(chunk => {
        if (!cancelled) {
          const lines = chunk.data.replace(/\n$/, '').split('\n');
          setTail(lines.slice(-FAILURE_TAIL_LINES).join('\n'));
        }
      })
      .catch(() => {
        if (!cancelled) {
          setTail('');
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, job.id]);
  return (
    <div
      className="jp-mlp-Failure"
      role="alert"
      aria-label="Why the job failed"
    >
      <div className="jp-mlp-Failure-title">Failed</div>
      <div className="jp-mlp-Failure-message">
        {job.state_message || 'The job failed without a message.'}
      </div>
      {failed && (
        <button
          type="button"
          className="jp-mlp-TextButton jp-mlp-Failure-open"
          onClick={() => onOpenNotebookAt(failed.path, failed.cell - 1)}
        >
          Open the notebook at cell {failed.cell}
        </button>
      )}
      {cell && (
        <button
          type="button"
          className="jp-mlp-TextButton jp-mlp-Failure-open"
          title={`Open ${cell.path} at the cell this job's code came from`}
          onClick={() =>
            onOpenNotebookAt(cell.path, cell.cellIndex ?? 0, cell.cellId)
          }
        >
          Open cell ({sourceCellText(cell)})
        </button>
      )}
      {tail && <pre className="jp-mlp-Failure-log">{tail}</pre>}
    </div>
  );
}
