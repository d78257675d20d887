/**
 * The list of jobs: one row per job with its name, backend, state and duration.
 */
import { stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { CANCELLABLE_STATES, IJob } from '../api';
import { formatJobDuration } from './format';
import { useNow } from './hooks';
import { StateBadge } from './StateBadge';

export interface IJobListProps {
  jobs: readonly IJob[];
  loaded: boolean;
  error: string | null;
  onOpen: (job: IJob) => void;
  onCancel: (job: IJob) => void;
}

export function JobList(props: IJobListProps): JSX.Element {
  const { jobs, loaded, error } = props;
  const ticking = jobs.some(job => job.started_at && !job.ended_at);
  const now = useNow(ticking);

  return (
    <div className="jp-mlp-JobList">
      {error !== null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load jobs: {error}
        </div>
      )}
      {loaded && jobs.length === 0 && error === null && (
        <div className="jp-mlp-Empty">
          No jobs yet. Launch one with <code>%mlp_train</code>, the command line
          or the REST API.
        </div>
      )}
      {!loaded && <div className="jp-mlp-Empty">Loading jobs…</div>}
      <ul className="jp-mlp-JobList-items" aria-label="Jobs">
        {jobs.map(job => (
          <JobRow
            key={job.id}
            job={job}
            now={now}
            onOpen={props.onOpen}
            onCancel={props.onCancel}
          />
        ))}
      </ul>
    </div>
  );
}

interface IJobRowProps {
  job: IJob;
  now: number;
  onOpen: (job: IJob) => void;
  onCancel: (job: IJob) => void;
}

function JobRow({ job, now, onOpen, onCancel }: IJobRowProps): JSX.Element {
  const name = job.name || job.id;
  return (
    <li className="jp-mlp-JobRow" data-job-id={job.id} data-state={job.state}>
      <button
        className="jp-mlp-JobRow-main"
        onClick={() => onOpen(job)}
        title={[`${name} (${job.id})`, job.state_message, 'Show details']
          .filter(Boolean)
          .join('\n')}
      >
        <span className="jp-mlp-JobRow-name">{name}</span>
        <span className="jp-mlp-JobRow-meta">
          <StateBadge state={job.state} />
          <span className="jp-mlp-JobRow-backend">
            {job.backend} · {job.kind}
          </span>
          <span className="jp-mlp-JobRow-duration">
            {formatJobDuration(job, now)}
          </span>
        </span>
      </button>
      {CANCELLABLE_STATES.has(job.state) && (
        <button
          className="jp-mlp-IconButton jp-mlp-JobRow-cancel"
          onClick={() => onCancel(job)}
          aria-label={`Cancel job ${name}`}
          title="Cancel job"
        >
          <stopIcon.react tag="span" elementSize="normal" />
        </button>
      )}
    </li>
  );
}
