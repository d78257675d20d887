/**
 * A sweep's trials: in the job detail, a table (parameters, metric, state,
 * duration) sortable by any column, the best trial marked, and a chart of the
 * metric (in a narrow sidebar the table is compact: each trial's state a mark
 * by its number, no state or time column, nothing to scroll sideways),
 * fetched again every few seconds while the sweep runs; in the job
 * list, the trial jobs of an expanded sweep as rows under it.
 */
import * as React from 'react';
import { useEffect, useState } from 'react';

import {
  IBackendCapabilities,
  IJob,
  ITrial,
  JobSummary,
  MLPClient,
  TERMINAL_STATES
} from '../api';
import { ServerBackends } from '../backends';
import {
  ITrialSort,
  TrialColumn,
  bestFirst,
  bestTrial,
  formatMetric,
  formatValue,
  plannedTrials,
  sortTrials,
  sweepOf,
  trialSeconds
} from '../sweep';
import { formatDuration, formatState } from './format';
import { useCapabilities, useNow } from './hooks';
import { SweepChart } from './SweepChart';
import { StateBadge } from './StateBadge';

/** How often a running sweep's trials are fetched again (ms). */
const REFRESH_MS = 3000;

export interface ISweepTrialsProps {
  client: MLPClient;
  /** The sweep job (as fetched: with its trials). */
  job: IJob;
  /** Open a local trial's own job. */
  onOpenJob?: (jobId: string) => void;
}

export function SweepTrials(props: ISweepTrialsProps): JSX.Element | null {
  const { client, job } = props;
  const sweep = sweepOf(job);
  const [fresh, setFresh] = useState<IJob | null>(null);
  const isSweep = sweep !== null;
  const live = !TERMINAL_STATES.has((fresh ?? job).state);

  // The sweep job announces its own state, not each trial's: look again while it runs.
  useEffect(() => {
    if (!isSweep || !live) {
      return;
    }
    let cancelled = false;
    const timer = window.setInterval(() => {
      client
        .getJob(job.id)
        .then(answer => {
          if (!cancelled) {
            setFresh(answer);
          }
        })
        .catch(() => {
          // The next round tries again; the detail says when the job is gone.
        });
    }, REFRESH_MS);
    return () => {
      cancelled = true;
      window.clearInterval(timer);
    };
  }, [client, job.id, isSweep, live]);

  const shown =
    fresh && fresh.id === job.id && !TERMINAL_STATES.has(job.state)
      ? fresh
      : job;
  const trials = shown.trials ?? [];
  const goal = sweep?.metric.goal ?? 'maximize';
  const [sort, setSort] = useState<ITrialSort>(() => bestFirst(goal));
  const now = useNow(trials.some(t => t.started_at && !t.ended_at));
  if (!sweep) {
    return null;
  }
  const best = bestTrial(trials, goal, shown.best_trial);
  const names = sweep.parameters.map(p => p.name);
  const sorted = sortTrials(trials, sort, now);
  const ended = trials.filter(t => TERMINAL_STATES.has(t.state)).length;

  const header = (column: TrialColumn, label: string, className?: string) => {
    const active = sameColumn(sort.column, column);
    return (
      <th
        scope="col"
        className={className}
        aria-sort={
          active ? (sort.descending ? 'descending' : 'ascending') : 'none'
        }
      >
        <button
          type="button"
          className="jp-mlp-SweepTrials-sort"
          title={`Sort by ${label}`}
          onClick={() =>
            setSort({
              column,
              // A new column starts best/largest first for the metric, smallest first otherwise.
              descending: active
                ? !sort.descending
                : column.kind === 'metric'
                  ? goal === 'maximize'
                  : false
            })
          }
        >
          {label}
          <span aria-hidden="true" className="jp-mlp-SweepTrials-arrow">
            {active ? (sort.descending ? '▼' : '▲') : ''}
          </span>
        </button>
      </th>
    );
  };

  return (
    <section className="jp-mlp-SweepTrials" aria-label="Trials">
      <h4 className="jp-mlp-JobDetail-section">Trials</h4>
      <div className="jp-mlp-SweepTrials-summary">
        {ended}/{plannedTrials(sweep)} trials ended · {goal}{' '}
        <code>{sweep.metric.name}</code>
        {best && (
          <>
            {' '}
            · best {formatMetric(best.metric)} (trial {best.id})
          </>
        )}
      </div>
      {trials.length === 0 ? (
        <div className="jp-mlp-Field-hint">No trials started yet.</div>
      ) : (
        <>
          <div className="jp-mlp-SweepTrials-scroll">
            <table className="jp-mlp-SweepTrials-table">
              <thead>
                <tr>
                  {header({ kind: 'id' }, '#')}
                  {names.map(name => (
                    <React.Fragment key={name}>
                      {header({ kind: 'parameter', name }, name)}
                    </React.Fragment>
                  ))}
                  {header({ kind: 'metric' }, sweep.metric.name)}
                  {header({ kind: 'state' }, 'State', WIDE)}
                  {header({ kind: 'duration' }, 'Time', WIDE)}
                </tr>
              </thead>
              <tbody>
                {sorted.map(trial => (
                  <TrialRow
                    key={trial.id}
                    trial={trial}
                    names={names}
                    best={trial === best}
                    now={now}
                    onOpenJob={props.onOpenJob}
                  />
                ))}
              </tbody>
            </table>
          </div>
          <SweepChart sweep={sweep} trials={trials} best={best} />
        </>
      )}
    </section>
  );
}

function TrialRow(props: {
  trial: ITrial;
  names: string[];
  best: boolean;
  now: number;
  onOpenJob?: (jobId: string) => void;
}): JSX.Element {
  const { trial, best, onOpenJob } = props;
  const seconds = trialSeconds(trial, props.now);
  const jobId = trial.job_id;
  return (
    <tr
      className={`jp-mlp-SweepTrials-row${best ? ' jp-mod-best' : ''}`}
      data-trial-id={trial.id}
      title={trial.message || undefined}
    >
      <th scope="row">
        <TrialMark state={trial.state} message={trial.message} />
        {jobId && onOpenJob ? (
          <button
            type="button"
            className="jp-mlp-LinkButton"
            title={`Open trial ${trial.id}'s job`}
            onClick={() => onOpenJob(jobId)}
          >
            {trial.id}
          </button>
        ) : (
          trial.id
        )}
        {best && (
          <span className="jp-mlp-SweepTrials-star" title="Best trial">
            <span aria-hidden="true"> ★</span>
            <span className="jp-mlp-SweepTrials-sr"> (best)</span>
          </span>
        )}
      </th>
      {props.names.map(name => {
        // The whole value on hover, where a narrow column cuts it short.
        const value = formatValue(trial.parameters?.[name]);
        return (
          <td key={name} className="jp-mlp-SweepTrials-number" title={value}>
            {value}
          </td>
        );
      })}
      <td
        className="jp-mlp-SweepTrials-number jp-mlp-SweepTrials-metric"
        title={formatMetric(trial.metric)}
      >
        {formatMetric(trial.metric)}
      </td>
      <td className={WIDE}>
        <StateBadge state={trial.state} />
      </td>
      <td className={`jp-mlp-SweepTrials-number ${WIDE}`}>
        {seconds === null ? '—' : formatDuration(seconds * 1000)}
      </td>
    </tr>
  );
}

/** The columns a narrow table leaves out (style/sweep.css, a container query). */
const WIDE = 'jp-mlp-SweepTrials-wide';

/** A trial's state as one mark, shown by its number where the State column is left out. */
const MARKS: Record<string, string> = {
  QUEUED: '○',
  RUNNING: '●',
  SUCCEEDED: '✓',
  FAILED: '✕',
  CANCELLING: '⊘',
  CANCELLED: '⊘'
};

function TrialMark(props: {
  state: string;
  message?: string | null;
}): JSX.Element {
  const words = formatState(props.state);
  return (
    <span
      className={`jp-mlp-SweepTrials-mark jp-mlp-SweepTrials-mark-${props.state.toLowerCase()}`}
      title={props.message ? `${words}: ${props.message}` : words}
    >
      <span aria-hidden="true">{MARKS[props.state] ?? '·'}</span>
      <span className="jp-mlp-SweepTrials-sr">{words}: </span>
    </span>
  );
}

function sameColumn(a: TrialColumn, b: TrialColumn): boolean {
  return (
    a.kind === b.kind &&
    (a.kind !== 'parameter' || (b.kind === 'parameter' && a.name === b.name))
  );
}

/**
 * Whether a job is a sweep whose trials are jobs of their own (listed with
 * `?sweep_id=`): its backend runs sweeps as trial jobs. Not while that is not
 * known.
 */
export function hasTrialJobs(
  job: JobSummary,
  capabilities: IBackendCapabilities | null
): boolean {
  return sweepOf(job) !== null && capabilities?.sweeps === 'trials';
}

/** A row of the job list: a job, or a trial job under its expanded sweep. */
export interface IListRow {
  job: JobSummary;
  /** The sweep a trial row is listed under; null for a top-level job. */
  sweepId: string | null;
}

/**
 * The job list's rows with the trial jobs of each expanded sweep under it,
 * oldest trial first. Expanded sweeps' trials are fetched again whenever the
 * list is (so their states follow).
 */
export function useSweepRows(
  client: MLPClient | undefined,
  backends: ServerBackends | undefined,
  jobs: readonly JobSummary[]
): {
  rows: IListRow[];
  /** Whether a job's row can expand, and whether it is. */
  expansion: (job: JobSummary) => 'open' | 'closed' | null;
  toggle: (job: JobSummary) => void;
} {
  const [open, setOpen] = useState<string[]>([]);
  const [trials, setTrials] = useState<Record<string, JobSummary[]>>({});
  const capabilitiesOf = useCapabilities(backends);

  useEffect(() => {
    if (!client || open.length === 0) {
      return;
    }
    let cancelled = false;
    for (const id of open) {
      client
        .listJobs({ sweep_id: id, limit: 200 })
        .then(page => {
          if (!cancelled) {
            setTrials(all => ({ ...all, [id]: [...page.jobs].reverse() }));
          }
        })
        .catch(() => {
          // The next refresh of the list tries again.
        });
    }
    return () => {
      cancelled = true;
    };
  }, [client, jobs, open]);

  const rows = jobs.flatMap(job => [
    { job, sweepId: null },
    ...(open.includes(job.id) ? (trials[job.id] ?? []) : []).map(trial => ({
      job: trial,
      sweepId: job.id
    }))
  ]);
  return {
    rows,
    expansion: job =>
      client && hasTrialJobs(job, capabilitiesOf(job.backend))
        ? open.includes(job.id)
          ? 'open'
          : 'closed'
        : null,
    toggle: job =>
      setOpen(ids =>
        ids.includes(job.id)
          ? ids.filter(id => id !== job.id)
          : [...ids, job.id]
      )
  };
}
