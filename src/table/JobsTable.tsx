/**
 * The jobs as a main-area table: sortable columns, each job's parameters as
 * columns for comparing runs, and bulk cancel and delete of selected jobs.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useMemo, useState } from 'react';

import { CANCELLABLE_STATES, JobSummary, TERMINAL_STATES } from '../api';
import { mlpIcon } from '../icons';
import { Filters } from '../panel/Filters';
import {
  formatGpu,
  formatJobCost,
  formatJobDuration,
  formatShortTime,
  formatTime
} from '../panel/format';
import { useNow } from '../panel/hooks';
import { JobsModel } from '../panel/model';
import { StateBadge } from '../panel/StateBadge';
import { KNOWN_BACKENDS } from '../vocabulary';
import {
  ColumnKey,
  DEFAULT_SORT,
  FIXED_COLUMNS,
  ISort,
  formatParameter,
  nextSort,
  parameterColumn,
  parameterNames,
  sortJobs
} from './columns';

/** What the table asks of the application. */
export interface ITableActions {
  /** Show one job in the panel's detail view. */
  open: (id: string) => void;
  /** Cancel these jobs after one confirmation. */
  cancel: (jobs: JobSummary[]) => Promise<void>;
  /** Delete these ended jobs after one confirmation. */
  remove: (jobs: JobSummary[]) => Promise<void>;
}

/** How many jobs' parameters are fetched at once. */
const FETCH_CONCURRENCY = 4;

export class JobsTableWidget extends ReactWidget {
  constructor(
    readonly model: JobsModel,
    private readonly _actions: ITableActions
  ) {
    super();
    this.id = 'jupyter-mlp-table';
    this.addClass('jp-mlp-TableWidget');
    this.title.label = 'ML Jobs';
    this.title.caption = 'All ML jobs as a table';
    this.title.icon = mlpIcon;
    this.title.closable = true;
    this._parameters = new ParameterCache(model);
  }

  protected render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <JobsTable
            model={this.model}
            jobs={this.model.jobs}
            actions={this._actions}
            parameters={this._parameters}
          />
        )}
      </UseSignal>
    );
  }

  /** Parameters by job id: a job's spec never changes, so each is fetched once. */
  private readonly _parameters: ParameterCache;
}

/** Fetches whole jobs for their parameters, a few at a time. */
class ParameterCache {
  constructor(private readonly _model: JobsModel) {}

  readonly values = new Map<string, Record<string, unknown>>();

  /** Fetch the parameters of the jobs not known yet; `done` runs after each. */
  fetch(jobs: readonly JobSummary[], done: () => void): void {
    for (const job of jobs) {
      if (!this.values.has(job.id) && !this._queued.has(job.id)) {
        this._queued.add(job.id);
        this._queue.push(job.id);
      }
    }
    this._done = done;
    while (this._running < FETCH_CONCURRENCY && this._queue.length) {
      this._running++;
      void this._next();
    }
  }

  private async _next(): Promise<void> {
    const id = this._queue.shift();
    if (id !== undefined) {
      try {
        const job = await this._model.client.getJob(id);
        this.values.set(id, job.spec.parameters ?? {});
      } catch {
        // A deleted job has no parameters to show; leave its cells empty.
        this.values.set(id, {});
      }
      this._done();
      return this._next();
    }
    this._running--;
  }

  private _queue: string[] = [];
  private _queued = new Set<string>();
  private _running = 0;
  private _done: () => void = () => undefined;
}

function JobsTable({
  model,
  jobs,
  actions,
  parameters
}: {
  model: JobsModel;
  jobs: readonly JobSummary[];
  actions: ITableActions;
  parameters: ParameterCache;
}): JSX.Element {
  const [sort, setSort] = useState<ISort>(DEFAULT_SORT);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [, setFetched] = useState(0);
  const [busy, setBusy] = useState(false);
  const now = useNow(jobs.some(job => job.started_at && !job.ended_at));

  useEffect(() => {
    parameters.fetch(jobs, () => setFetched(n => n + 1));
  }, [jobs, parameters]);

  // Forget selected jobs that left the list (deleted, filtered out).
  useEffect(() => {
    const ids = new Set(jobs.map(job => job.id));
    if ([...selected].some(id => !ids.has(id))) {
      setSelected(new Set([...selected].filter(id => ids.has(id))));
    }
  }, [jobs, selected]);

  const names = parameterNames(jobs, parameters.values);
  const rows = useMemo(
    () => sortJobs(jobs, sort, now, parameters.values),
    // `now` only matters to the time columns; re-sorting every tick would make rows jump.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [jobs, sort, parameters.values.size, sort.column === 'duration' ? now : 0]
  );
  const chosen = jobs.filter(job => selected.has(job.id));
  const cancellable = chosen.filter(job => CANCELLABLE_STATES.has(job.state));
  const deletable = chosen.filter(job => TERMINAL_STATES.has(job.state));
  const allSelected = jobs.length > 0 && chosen.length === jobs.length;

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (!next.delete(id)) {
      next.add(id);
    }
    setSelected(next);
  };
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
    }
  };

  const header = (key: ColumnKey, label: string, className?: string) => {
    const active = sort.column === key;
    return (
      <th
        key={key}
        scope="col"
        className={className}
        aria-sort={
          active ? (sort.ascending ? 'ascending' : 'descending') : 'none'
        }
      >
        <button
          type="button"
          className="jp-mlp-Table-sort"
          onClick={() => setSort(nextSort(sort, key))}
          title={`Sort by ${label.toLowerCase()}`}
        >
          {label}
          <span aria-hidden="true" className="jp-mlp-Table-arrow">
            {active ? (sort.ascending ? '▲' : '▼') : ''}
          </span>
        </button>
      </th>
    );
  };

  return (
    <div className="jp-mlp-Table">
      <div className="jp-mlp-Table-toolbar">
        <Filters
          filter={model.filter}
          backends={KNOWN_BACKENDS}
          onChange={filter => {
            model.filter = filter;
          }}
        />
        <div
          className="jp-mlp-Table-bulk"
          role="toolbar"
          aria-label="Selected jobs"
        >
          <span className="jp-mlp-Table-count" aria-live="polite">
            {chosen.length
              ? `${chosen.length} of ${jobs.length} selected`
              : `${jobs.length} job${jobs.length === 1 ? '' : 's'}`}
          </span>
          <button
            type="button"
            className="jp-mlp-TextButton"
            disabled={busy || cancellable.length === 0}
            title="Cancel the selected jobs that are queued or running"
            onClick={() => void run(() => actions.cancel(cancellable))}
          >
            Cancel{cancellable.length ? ` ${cancellable.length}` : ''}
          </button>
          <button
            type="button"
            className="jp-mlp-TextButton"
            disabled={busy || deletable.length === 0}
            title="Delete the selected jobs that have ended"
            onClick={() => void run(() => actions.remove(deletable))}
          >
            Delete{deletable.length ? ` ${deletable.length}` : ''}
          </button>
        </div>
      </div>
      {model.error !== null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load jobs: {model.error}
        </div>
      )}
      <div className="jp-mlp-Table-scroll">
        <table aria-label="Jobs" aria-rowcount={jobs.length + 1}>
          <thead>
            <tr>
              <th scope="col" className="jp-mlp-Table-check">
                <input
                  type="checkbox"
                  aria-label="Select all jobs"
                  checked={allSelected}
                  ref={node => {
                    if (node) {
                      node.indeterminate = chosen.length > 0 && !allSelected;
                    }
                  }}
                  onChange={() =>
                    setSelected(
                      allSelected ? new Set() : new Set(jobs.map(j => j.id))
                    )
                  }
                />
              </th>
              {FIXED_COLUMNS.map(column => header(column.key, column.label))}
              <th scope="col">Accelerators</th>
              {names.map(name =>
                header(parameterColumn(name), name, 'jp-mlp-Table-param')
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map(job => {
              const values = parameters.values.get(job.id);
              const name = job.name || job.id;
              return (
                <tr
                  key={job.id}
                  data-job-id={job.id}
                  data-state={job.state}
                  aria-selected={selected.has(job.id)}
                >
                  <td className="jp-mlp-Table-check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${name}`}
                      checked={selected.has(job.id)}
                      onChange={() => toggle(job.id)}
                    />
                  </td>
                  <td className="jp-mlp-Table-name">
                    <button
                      type="button"
                      className="jp-mlp-LinkButton"
                      title={`Show ${name} in the panel`}
                      onClick={() => actions.open(job.id)}
                    >
                      {name}
                    </button>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td>
                    {job.backend} · {job.kind}
                  </td>
                  <td
                    className="jp-mlp-Table-num"
                    title={formatTime(job.created_at)}
                  >
                    {formatShortTime(job.created_at, now)}
                  </td>
                  <td className="jp-mlp-Table-num">
                    {formatJobDuration(job, now)}
                  </td>
                  <td className="jp-mlp-Table-num">
                    {formatJobCost(job, now) ?? '—'}
                  </td>
                  <td>{formatGpu(job)}</td>
                  {names.map(param => (
                    <td
                      key={param}
                      className="jp-mlp-Table-num jp-mlp-Table-param"
                    >
                      {values === undefined
                        ? '…'
                        : formatParameter(values[param])}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {model.loaded && jobs.length === 0 && (
          <div className="jp-mlp-Empty">
            {model.filtered ? 'No jobs match these filters.' : 'No jobs yet.'}
          </div>
        )}
        {model.hasMore && (
          <div className="jp-mlp-JobList-more">
            <button
              type="button"
              className="jp-mlp-LinkButton"
              disabled={model.loadingMore}
              onClick={() => void model.loadMore()}
            >
              {model.loadingMore ? 'Loading older jobs…' : 'Load older jobs'}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
