/**
 * The list of jobs: one row per job with its name, created time, state,
 * backend, accelerators and duration. Only the rows in view are rendered, so
 * thousands of jobs scroll smoothly; older pages load as the end comes near.
 */
import {
  caretDownIcon,
  caretRightIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useLayoutEffect, useRef, useState } from 'react';

import { CANCELLABLE_STATES, JobSummary, MLPClient } from '../api';
import { ServerBackends } from '../backends';
import { sweepSummary } from '../sweep';
import {
  formatGpu,
  formatJobCost,
  formatJobDuration,
  formatShortTime
} from './format';
import { useNow } from './hooks';
import { IconButton } from './IconButton';
import { ProgressBar } from './JobProgress';
import { progressText, shownProgress } from './progress';
import { StateBadge } from './StateBadge';
import { useSweepRows } from './SweepTrials';

/** Every row has this height (px); the stylesheet sets the same. */
export const ROW_HEIGHT = 50;
/** Rows rendered above and below the visible ones. */
const OVERSCAN = 8;
/** Load the next page when fewer rows than this are left below the view. */
const PREFETCH_ROWS = 20;

export interface IJobListProps {
  /** Summaries: what a row shows, never a job's code or timeline. */
  jobs: readonly JobSummary[];
  loaded: boolean;
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  /** Whether filters are set (for the empty state's wording). */
  filtered: boolean;
  onOpen: (job: JobSummary) => void;
  onCancel: (job: JobSummary) => void;
  onLoadMore: () => void;
  onClearFilters: () => void;
  onLaunch: () => void;
  /** Fetches the trial jobs of an expanded sweep; without it sweeps do not expand. */
  client?: MLPClient;
  /** Say which backends run a sweep's trials as jobs; without them sweeps do not expand. */
  backends?: ServerBackends;
}

export function JobList(props: IJobListProps): JSX.Element {
  const { loaded, error, hasMore, loadingMore } = props;
  // An expanded sweep lists its trial jobs under it, as rows of their own.
  const sweepRows = useSweepRows(props.client, props.backends, props.jobs);
  const jobs = sweepRows.rows.map(row => row.job);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const pendingFocus = useRef<number | null>(null);

  useLayoutEffect(() => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    setViewHeight(node.clientHeight || 600);
    const observer = new ResizeObserver(() =>
      setViewHeight(node.clientHeight || 600)
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(
    jobs.length,
    Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN
  );
  const visible = jobs.slice(first, last);
  const ticking = visible.some(job => job.started_at && !job.ended_at);
  const now = useNow(ticking);

  // Near the end: fetch the next page (also when the first page does not fill the view).
  useEffect(() => {
    if (
      hasMore &&
      !loadingMore &&
      error === null &&
      jobs.length - last < PREFETCH_ROWS
    ) {
      props.onLoadMore();
    }
  });

  // Focus the row the arrow keys moved to, once it is rendered.
  useEffect(() => {
    const index = pendingFocus.current;
    if (index === null) {
      return;
    }
    const button = scroller.current?.querySelector<HTMLElement>(
      `[data-index="${index}"] .jp-mlp-JobRow-main`
    );
    if (button) {
      pendingFocus.current = null;
      button.focus();
    }
  });

  const onKeyDown = (event: React.KeyboardEvent) => {
    const row = (event.target as HTMLElement).closest('[data-index]');
    const node = scroller.current;
    if (!row || !node) {
      return;
    }
    const index = Number(row.getAttribute('data-index'));
    const step: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      Home: 0,
      End: jobs.length - 1,
      PageDown: index + Math.floor(node.clientHeight / ROW_HEIGHT),
      PageUp: index - Math.floor(node.clientHeight / ROW_HEIGHT)
    };
    if (!(event.key in step)) {
      return;
    }
    event.preventDefault();
    const target = Math.max(0, Math.min(jobs.length - 1, step[event.key]));
    const top = target * ROW_HEIGHT;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + ROW_HEIGHT > node.scrollTop + node.clientHeight) {
      node.scrollTop = top + ROW_HEIGHT - node.clientHeight;
    }
    setScrollTop(node.scrollTop);
    pendingFocus.current = target;
  };

  return (
    <div
      className="jp-mlp-JobList"
      ref={scroller}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
    >
      {error !== null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load jobs: {error}
        </div>
      )}
      {loaded && jobs.length === 0 && error === null && (
        <EmptyState
          filtered={props.filtered}
          onClearFilters={props.onClearFilters}
          onLaunch={props.onLaunch}
        />
      )}
      {!loaded && <div className="jp-mlp-Empty">Loading jobs…</div>}
      <ul
        className="jp-mlp-JobList-items"
        aria-label="Jobs"
        style={{ height: jobs.length * ROW_HEIGHT }}
        onKeyDown={onKeyDown}
      >
        {visible.map((job, offset) => (
          <JobRow
            key={job.id}
            job={job}
            index={first + offset}
            total={jobs.length}
            now={now}
            onOpen={props.onOpen}
            onCancel={props.onCancel}
            trial={sweepRows.rows[first + offset].sweepId !== null}
            expansion={sweepRows.expansion(job)}
            onToggleTrials={sweepRows.toggle}
          />
        ))}
      </ul>
      {(hasMore || loadingMore) && (
        <div className="jp-mlp-JobList-more">
          <button
            type="button"
            className="jp-mlp-LinkButton"
            disabled={loadingMore}
            onClick={props.onLoadMore}
          >
            {loadingMore ? 'Loading older jobs…' : 'Load older jobs'}
          </button>
        </div>
      )}
    </div>
  );
}

function EmptyState(props: {
  filtered: boolean;
  onClearFilters: () => void;
  onLaunch: () => void;
}): JSX.Element {
  if (props.filtered) {
    return (
      <div className="jp-mlp-Empty">
        No jobs match these filters.{' '}
        <button
          type="button"
          className="jp-mlp-LinkButton"
          onClick={props.onClearFilters}
        >
          Clear the filters
        </button>
      </div>
    );
  }
  return (
    <div className="jp-mlp-Empty">
      <p>No jobs yet. To launch one:</p>
      <ul>
        <li>
          <button
            type="button"
            className="jp-mlp-LinkButton"
            onClick={props.onLaunch}
          >
            Open the launch form
          </button>
          ,
        </li>
        <li>
          click <strong>Run as job</strong> in a notebook&apos;s toolbar or a
          file&apos;s context menu,
        </li>
        <li>
          run <code>%mlp_train train.py</code> in a notebook, or
        </li>
        <li>
          run <code>jupyter mlp submit train.py</code> in a terminal.
        </li>
      </ul>
    </div>
  );
}

interface IJobRowProps {
  job: JobSummary;
  index: number;
  total: number;
  now: number;
  onOpen: (job: JobSummary) => void;
  onCancel: (job: JobSummary) => void;
  /** A trial job listed under its sweep. */
  trial: boolean;
  /** A sweep whose trials can be listed under it: whether they are. */
  expansion: 'open' | 'closed' | null;
  onToggleTrials: (job: JobSummary) => void;
}

function JobRow(props: IJobRowProps): JSX.Element {
  const { job, index, now, onOpen, onCancel } = props;
  const name = job.name || job.id;
  const gpu = formatGpu(job);
  const progress = shownProgress(job);
  return (
    <li
      className={`jp-mlp-JobRow${props.trial ? ' jp-mod-trial' : ''}`}
      data-job-id={job.id}
      data-state={job.state}
      data-index={index}
      aria-setsize={props.total}
      aria-posinset={index + 1}
      style={{ top: index * ROW_HEIGHT }}
    >
      {props.expansion && (
        <TrialsToggle
          name={name}
          open={props.expansion === 'open'}
          onClick={() => props.onToggleTrials(job)}
        />
      )}
      <button
        className="jp-mlp-JobRow-main"
        onClick={() => onOpen(job)}
        title={[
          `${name} (${job.id})`,
          `Created ${new Date(job.created_at).toLocaleString()}`,
          job.state_message,
          progress &&
            `Running ${progressText(progress)}: ${progress.cell_source ?? ''}`,
          'Show details'
        ]
          .filter(Boolean)
          .join('\n')}
      >
        <span className="jp-mlp-JobRow-top">
          <span className="jp-mlp-JobRow-name">{name}</span>
          <span className="jp-mlp-JobRow-created">
            {formatShortTime(job.created_at, now)}
          </span>
        </span>
        <span className="jp-mlp-JobRow-meta">
          <StateBadge state={job.state} />
          {job.state === 'FAILED' && job.state_message ? (
            // Why it failed matters more than where it ran.
            <span className="jp-mlp-JobRow-reason">{job.state_message}</span>
          ) : progress ? (
            <span className="jp-mlp-JobRow-progress">
              {progressText(progress)}
            </span>
          ) : (
            <>
              <span className="jp-mlp-JobRow-backend">
                {job.backend} · {sweepSummary(job) ?? job.kind}
              </span>
              <span
                className="jp-mlp-JobRow-gpu"
                title={`Accelerators: ${gpu}`}
              >
                {gpu}
              </span>
            </>
          )}
          <span className="jp-mlp-JobRow-duration">
            {formatJobDuration(job, now)}
          </span>
          {job.cost && (
            <span
              className="jp-mlp-JobRow-cost"
              title={`Estimated cost from list prices as of ${job.cost.prices_as_of}`}
            >
              {formatJobCost(job, now)}
            </span>
          )}
        </span>
      </button>
      {progress && (
        <ProgressBar progress={progress} className="jp-mlp-JobRow-bar" />
      )}
      {CANCELLABLE_STATES.has(job.state) && (
        <IconButton
          icon={stopIcon}
          label={`Cancel job ${name}`}
          title="Cancel job"
          onClick={() => onCancel(job)}
          className="jp-mlp-JobRow-cancel"
        />
      )}
    </li>
  );
}

/** Shows or hides a sweep's trial jobs under its row. */
function TrialsToggle(props: {
  name: string;
  open: boolean;
  onClick: () => void;
}): JSX.Element {
  const Icon = (props.open ? caretDownIcon : caretRightIcon).react;
  return (
    <button
      className="jp-mlp-IconButton jp-mlp-JobRow-expand"
      aria-expanded={props.open}
      aria-label={`Trials of ${props.name}`}
      title={props.open ? 'Hide the trials' : 'Show the trials'}
      onClick={props.onClick}
    >
      <Icon tag="span" elementSize="normal" />
    </button>
  );
}
