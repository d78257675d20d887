/**
 * Where a job came from, as links: the job it reruns, the sweep it is a
 * trial of, the notebook cell its code came from.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import { IJob, MLPClient } from '../api';
import { originText, sourceCell, sourceCellText, trialText } from './describe';
import type { OpenNotebookAt } from './JobFailure';

export interface IJobOriginProps {
  client: MLPClient;
  job: IJob;
  onOpenJob?: (jobId: string) => void;
  onOpenNotebookAt: OpenNotebookAt;
}

/** The sweep a trial job belongs to, once fetched. */
function useSweep(client: MLPClient, sweepId: string | null): IJob | null {
  const [sweep, setSweep] = useState<IJob | null>(null);
  useEffect(() => {
    if (sweepId === null) {
      return;
    }
    let cancelled = false;
    client
      .getJob(sweepId)
      .then(found => !cancelled && setSweep(found))
      .catch(() => !cancelled && setSweep(null));
    return () => {
      cancelled = true;
    };
  }, [client, sweepId]);
  return sweep?.id === sweepId ? sweep : null;
}

export function JobOrigin(props: IJobOriginProps): JSX.Element | null {
  const { job, onOpenJob } = props;
  const sweepId = job.sweep_id ?? null;
  const sweep = useSweep(props.client, sweepId);
  const cell = sourceCell(job);
  if (!job.rerun_of && !sweepId && !cell) {
    return null;
  }
  const link = (text: string, title: string, onClick: () => void) => (
    <button
      type="button"
      className="jp-mlp-LinkButton"
      title={title}
      onClick={onClick}
    >
      {text}
    </button>
  );
  return (
    <ul className="jp-mlp-JobOrigin" aria-label="Where the job came from">
      {job.rerun_of && (
        <li>
          {onOpenJob
            ? link(
                capitalize(originText(job.rerun_of)),
                'Show the job this one reruns',
                () => onOpenJob(job.rerun_of!.id)
              )
            : capitalize(originText(job.rerun_of))}
        </li>
      )}
      {sweepId && (
        <li>
          {onOpenJob
            ? link(
                capitalize(
                  sweep ? trialText(job.id, sweep) : 'A trial of a sweep'
                ),
                'Show the sweep',
                () => onOpenJob(sweepId)
              )
            : 'A trial of a sweep'}
        </li>
      )}
      {cell && (
        <li>
          Code from{' '}
          {link(sourceCellText(cell), `Open ${cell.path} at the cell`, () =>
            props.onOpenNotebookAt(cell.path, cell.cellIndex ?? 0, cell.cellId)
          )}
        </li>
      )}
    </ul>
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
