/**
 * A job's facts in the detail (state, backend, duration, cost, ids) and its
 * timeline of state changes.
 */
import * as React from 'react';

import { IBackendCapabilities, IJob } from '../api';
import { backendIdLabel, backendStateNote, transitionNote } from './describe';
import { formatCostDetail, formatJobDuration, formatTime } from './format';
import { StateBadge } from './StateBadge';

export function JobFacts(props: {
  job: IJob;
  now: number;
  capabilities: IBackendCapabilities | null;
}): JSX.Element {
  const { job, now } = props;
  const note = backendStateNote(job);
  return (
    <dl className="jp-mlp-JobDetail-fields">
      <dt>State</dt>
      <dd>
        <StateBadge state={job.state} />
        {note && <span className="jp-mlp-JobDetail-dim"> ({note})</span>}
      </dd>
      {job.state_message && job.state !== 'FAILED' && (
        <>
          <dt>Message</dt>
          <dd className="jp-mlp-JobDetail-message">{job.state_message}</dd>
        </>
      )}
      <dt>Backend</dt>
      <dd>{job.backend}</dd>
      <dt>Duration</dt>
      <dd>{formatJobDuration(job, now)}</dd>
      {job.cost && (
        <>
          <dt>Cost</dt>
          <dd>
            {formatCostDetail(job, now)} (estimate, list prices as of{' '}
            {job.cost.prices_as_of})
          </dd>
        </>
      )}
      <dt>Created</dt>
      <dd>{formatTime(job.created_at)}</dd>
      <dt>Job id</dt>
      <dd className="jp-mlp-JobDetail-mono">{job.id}</dd>
      {job.backend_job_id && (
        <>
          <dt>{backendIdLabel(props.capabilities)}</dt>
          <dd className="jp-mlp-JobDetail-mono">{job.backend_job_id}</dd>
        </>
      )}
    </dl>
  );
}

export function Timeline({ job }: { job: IJob }): JSX.Element {
  return (
    <>
      <h4 className="jp-mlp-JobDetail-section">Timeline</h4>
      <ol className="jp-mlp-Timeline" aria-label="State changes">
        {(job.transitions ?? []).map((transition, index) => (
          <li key={index} className="jp-mlp-Timeline-item">
            <time
              className="jp-mlp-Timeline-time"
              dateTime={transition.at}
              title={formatTime(transition.at)}
            >
              {formatClock(transition.at)}
            </time>
            <StateBadge state={transition.state} />
            {transitionNote(transition) && (
              <span className="jp-mlp-Timeline-message">
                {transitionNote(transition)}
              </span>
            )}
          </li>
        ))}
      </ol>
    </>
  );
}

/** A time of day with seconds (the timeline's dates are in the title). */
function formatClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleTimeString(undefined, {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit'
      });
}
