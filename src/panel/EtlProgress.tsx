/**
 * What the job detail shows of a pipeline on a backend that reports progress
 * and drains: its progress per step (element counts from the job's metrics,
 * refreshed while it runs), and a Drain button for a running streaming
 * pipeline.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import * as React from 'react';
import { useEffect, useState } from 'react';

import { IBackendCapabilities, IJob, IJobProgress, MLPClient } from '../api';
import {
  PROGRESS_INTERVAL_MS,
  canDrain,
  progressLines,
  showsProgress
} from './pipeline';

/** The Drain button of a running streaming pipeline, asking first. */
export function DrainButton(props: {
  client: MLPClient;
  job: IJob;
  /** What the job's backend can do; null while not known (no button then). */
  capabilities: IBackendCapabilities | null;
  onDrained?: (job: IJob) => void;
}): JSX.Element | null {
  const { client, job } = props;
  const [busy, setBusy] = useState(false);
  if (!canDrain(job, props.capabilities)) {
    return null;
  }
  const drain = async () => {
    const answer = await showDialog({
      title: 'Drain this pipeline?',
      body:
        `${job.name || job.id} stops reading its input, finishes the elements ` +
        'it has read, then ends. This can take minutes; cancel stops it at once ' +
        'instead.',
      buttons: [
        Dialog.cancelButton({ label: 'Keep running' }),
        Dialog.warnButton({ label: 'Drain job' })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    setBusy(true);
    try {
      props.onDrained?.(await client.drainJob(job.id));
    } catch (error) {
      void showErrorMessage('Could not drain the job', error as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button
      type="button"
      className="jp-mlp-TextButton"
      disabled={busy}
      aria-label={`Drain job ${job.name || job.id}`}
      title="Drain: stop reading input, finish what was read, then end"
      onClick={() => void drain()}
    >
      Drain
    </button>
  );
}

/** A pipeline's elements per step, read again while it runs. */
export function EtlProgress(props: {
  client: MLPClient;
  job: IJob;
  /** What the job's backend can do; null while not known (nothing shown then). */
  capabilities: IBackendCapabilities | null;
  live: boolean;
}): JSX.Element | null {
  const { client, job, live } = props;
  const [progress, setProgress] = useState<IJobProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const shown = showsProgress(job, props.capabilities);

  useEffect(() => {
    if (!shown) {
      return;
    }
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const answer = await client.getProgress(job.id);
        if (!cancelled) {
          setProgress(answer);
          setError(null);
        }
      } catch (reason) {
        if (!cancelled) {
          setError((reason as Error).message);
        }
      }
      if (!cancelled && live) {
        timer = setTimeout(() => void read(), PROGRESS_INTERVAL_MS);
      }
    };
    void read();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // The job's state is in the deps: one last read when it ends.
  }, [client, job.id, job.state, live, shown]);

  if (!shown) {
    return null;
  }
  const { steps, note } = progressLines(progress, error);
  return (
    <>
      <h4 className="jp-mlp-JobDetail-section">Progress</h4>
      {steps.length > 0 && (
        <dl
          className="jp-mlp-JobDetail-fields jp-mlp-EtlProgress"
          aria-label="Elements per step"
        >
          {steps.map(line => (
            <React.Fragment key={line.step}>
              <dt className="jp-mlp-JobDetail-mono">{line.step}</dt>
              <dd>{line.elements}</dd>
            </React.Fragment>
          ))}
        </dl>
      )}
      {note && <div className="jp-mlp-JobDetail-dim">{note}</div>}
    </>
  );
}
