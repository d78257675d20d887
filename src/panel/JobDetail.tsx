/**
 * One job in detail: state, times, outputs and the followed log.
 */
import { caretLeftIcon, runIcon, stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useState } from 'react';

import {
  CANCELLABLE_STATES,
  IJob,
  IJobOutputs,
  MLPClient,
  TERMINAL_STATES
} from '../api';
import { formatJobDuration, formatTime } from './format';
import { useNow } from './hooks';
import { LogView } from './LogView';
import { StateBadge } from './StateBadge';

export interface IJobDetailProps {
  client: MLPClient;
  jobId: string;
  /** The job as last listed, when the list has it; fresher than a fetch. */
  listed: IJob | undefined;
  /** Bumped whenever the server announces a change of this job. */
  revision: number;
  onBack: () => void;
  onCancel: (job: IJob) => void;
  onRerun: (job: IJob) => void;
  onOpenPath: (path: string, isFolder: boolean) => void;
}

/** Labels of the outputs a job may have, and whether each is a folder. */
const OUTPUTS: { key: keyof IJobOutputs; label: string; folder: boolean }[] = [
  { key: 'log', label: 'Log', folder: false },
  { key: 'executed_notebook', label: 'Executed notebook', folder: false },
  { key: 'model_dir', label: 'Model directory', folder: true },
  { key: 'folder', label: 'Output folder', folder: true }
];

export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { client, jobId, listed, revision } = props;
  const [fetched, setFetched] = useState<IJob | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    client
      .getJob(jobId)
      .then(job => {
        if (!cancelled) {
          setFetched(job);
          setError(null);
        }
      })
      .catch((reason: Error) => {
        if (!cancelled) {
          setError(reason.message);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, jobId, revision]);

  const job = newer(listed, fetched);
  const live = job !== null && !TERMINAL_STATES.has(job.state);
  const now = useNow(live && !!job?.started_at);

  return (
    <div className="jp-mlp-JobDetail">
      <div className="jp-mlp-JobDetail-header">
        <button
          className="jp-mlp-IconButton"
          onClick={props.onBack}
          aria-label="Back to the job list"
          title="Back to the job list"
        >
          <caretLeftIcon.react tag="span" elementSize="normal" />
        </button>
        <h3 className="jp-mlp-JobDetail-title" title={job?.name ?? jobId}>
          {job?.name || jobId}
        </h3>
        {job && CANCELLABLE_STATES.has(job.state) && (
          <button
            className="jp-mlp-IconButton"
            onClick={() => props.onCancel(job)}
            aria-label={`Cancel job ${job.name || job.id}`}
            title="Cancel job"
          >
            <stopIcon.react tag="span" elementSize="normal" />
          </button>
        )}
        {job && TERMINAL_STATES.has(job.state) && (
          <button
            className="jp-mlp-IconButton"
            onClick={() => props.onRerun(job)}
            aria-label={`Run job ${job.name || job.id} again`}
            title="Run again as a new job"
          >
            <runIcon.react tag="span" elementSize="normal" />
          </button>
        )}
      </div>
      {error !== null && job === null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load the job: {error}
        </div>
      )}
      {job !== null && (
        <>
          <dl className="jp-mlp-JobDetail-fields">
            <dt>State</dt>
            <dd>
              <StateBadge state={job.state} />
              {job.backend_state && job.backend_state !== job.state && (
                <span className="jp-mlp-JobDetail-dim">
                  {' '}
                  ({job.backend_state})
                </span>
              )}
            </dd>
            {job.state_message && (
              <>
                <dt>Message</dt>
                <dd className="jp-mlp-JobDetail-message">
                  {job.state_message}
                </dd>
              </>
            )}
            <dt>Backend</dt>
            <dd>
              {job.backend} · {job.kind}
            </dd>
            <dt>Duration</dt>
            <dd>{formatJobDuration(job, now)}</dd>
            <dt>Created</dt>
            <dd>{formatTime(job.created_at)}</dd>
            <dt>Started</dt>
            <dd>{formatTime(job.started_at)}</dd>
            <dt>Ended</dt>
            <dd>{formatTime(job.ended_at)}</dd>
            <dt>Job id</dt>
            <dd className="jp-mlp-JobDetail-mono">{job.id}</dd>
            {job.console_url && (
              <>
                <dt>Console</dt>
                <dd>
                  <a
                    href={job.console_url}
                    target="_blank"
                    rel="noopener noreferrer"
                  >
                    Open in the cloud console
                  </a>
                </dd>
              </>
            )}
          </dl>
          <h4 className="jp-mlp-JobDetail-section">Outputs</h4>
          <ul className="jp-mlp-JobDetail-outputs">
            {OUTPUTS.filter(output => job.outputs?.[output.key]).map(output => {
              const path = job.outputs[output.key] as string;
              return (
                <li key={output.key}>
                  <span className="jp-mlp-JobDetail-dim">{output.label}: </span>
                  <button
                    className="jp-mlp-LinkButton"
                    onClick={() => props.onOpenPath(path, output.folder)}
                    title={`Open ${path}`}
                  >
                    {path}
                  </button>
                </li>
              );
            })}
          </ul>
          <h4 className="jp-mlp-JobDetail-section">Log</h4>
          <LogView client={client} jobId={job.id} live={live} />
        </>
      )}
    </div>
  );
}

/** Of two copies of the same job, the one most recently changed. */
function newer(a: IJob | undefined, b: IJob | null): IJob | null {
  if (!a) {
    return b;
  }
  if (!b) {
    return a;
  }
  return lastChange(a) >= lastChange(b) ? a : b;
}

function lastChange(job: IJob): number {
  const times = (job.transitions ?? []).map(t => Date.parse(t.at));
  return Math.max(0, ...times.filter(t => !Number.isNaN(t)));
}
