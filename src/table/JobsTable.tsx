/**
 * The jobs as a main-area table: sortable columns, each job's source,
 * parameters and metrics as columns for comparing runs, a source filter, and
 * bulk compare, cancel and delete of selected jobs.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useMemo, useState } from 'react';

import { CANCELLABLE_STATES, JobSummary, TERMINAL_STATES } from '../api';
import { mlpIcon } from '../icons';
import { Filters } from '../panel/Filters';
import { useNow } from '../panel/hooks';
import { JobsModel } from '../panel/model';
import { KNOWN_BACKENDS } from '../vocabulary';
import {
  ColumnKey,
  DEFAULT_SORT,
  FIXED_COLUMNS,
  ISort,
  filterBySource,
  metricColumn,
  metricNames,
  nextSort,
  parameterColumn,
  parameterNames,
  sortJobs,
  sourcesOf
} from './columns';
import { JobRow } from './JobRow';
import { ParameterCache } from './parameterCache';

/** What the table asks of the application. */
export interface ITableActions {
  /** Show one job in the panel's detail view. */
  open: (id: string) => void;
  /** Cancel these jobs after one confirmation. */
  cancel: (jobs: JobSummary[]) => Promise<void>;
  /** Delete these ended jobs after one confirmation. */
  remove: (jobs: JobSummary[]) => Promise<void>;
  /** Open these jobs side by side. */
  compare: (ids: string[]) => void;
}

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

function JobsTable({
  model,
  jobs: loaded,
  actions,
  parameters
}: {
  model: JobsModel;
  jobs: readonly JobSummary[];
  actions: ITableActions;
  parameters: ParameterCache;
}): JSX.Element {
  const [sort, setSort] = useState<ISort>(DEFAULT_SORT);
  const [source, setSource] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [, setFetched] = useState(0);
  const jobs = useMemo(() => filterBySource(loaded, source), [loaded, source]);
  const now = useNow(jobs.some(job => job.started_at && !job.ended_at));

  useEffect(() => {
    parameters.fetch(loaded, () => setFetched(n => n + 1));
  }, [loaded, parameters]);

  // Forget selected jobs that left the list (deleted, filtered out).
  useEffect(() => {
    const ids = new Set(jobs.map(job => job.id));
    if ([...selected].some(id => !ids.has(id))) {
      setSelected(new Set([...selected].filter(id => ids.has(id))));
    }
  }, [jobs, selected]);

  // The columns are those of the jobs shown: one source's runs keep to their own.
  const names = parameterNames(jobs, parameters.values);
  const metrics = metricNames(jobs);
  const rows = useMemo(
    () => sortJobs(jobs, sort, now, parameters.values),
    // `now` only matters to the time columns; re-sorting every tick would make rows jump.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [jobs, sort, parameters.values.size, sort.column === 'duration' ? now : 0]
  );
  const chosen = jobs.filter(job => selected.has(job.id));
  const allSelected = jobs.length > 0 && chosen.length === jobs.length;
  const sources = sourcesOf(loaded);
  if (source !== null && !sources.includes(source)) {
    sources.push(source);
  }

  const toggle = (id: string) => {
    const next = new Set(selected);
    if (!next.delete(id)) {
      next.add(id);
    }
    setSelected(next);
  };
  const header = (key: ColumnKey, label: string, className?: string) => (
    <SortHeader
      key={key}
      column={key}
      label={label}
      className={className}
      sort={sort}
      onSort={setSort}
    />
  );

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
        <select
          className="jp-mlp-Table-sourceFilter"
          aria-label="Filter by source"
          value={source ?? ''}
          onChange={event => setSource(event.target.value || null)}
        >
          <option value="">All sources</option>
          {sources.map(path => (
            <option key={path} value={path}>
              {path}
            </option>
          ))}
        </select>
        <BulkActions jobs={jobs} chosen={chosen} actions={actions} />
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
              {metrics.map(name =>
                header(metricColumn(name), name, 'jp-mlp-Table-metric')
              )}
            </tr>
          </thead>
          <tbody>
            {rows.map(job => (
              <JobRow
                key={job.id}
                job={job}
                now={now}
                selected={selected.has(job.id)}
                values={parameters.values.get(job.id)}
                parameters={names}
                metrics={metrics}
                onToggle={() => toggle(job.id)}
                onOpen={actions.open}
              />
            ))}
          </tbody>
        </table>
        {model.loaded && jobs.length === 0 && (
          <div className="jp-mlp-Empty">
            {model.filtered || source !== null
              ? 'No jobs match these filters.'
              : 'No jobs yet.'}
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

/** A column's header: a button that sorts by it, its direction announced. */
function SortHeader({
  column,
  label,
  className,
  sort,
  onSort
}: {
  column: ColumnKey;
  label: string;
  className?: string;
  sort: ISort;
  onSort: (sort: ISort) => void;
}): JSX.Element {
  const active = sort.column === column;
  return (
    <th
      scope="col"
      className={className}
      aria-sort={
        active ? (sort.ascending ? 'ascending' : 'descending') : 'none'
      }
    >
      <button
        type="button"
        className="jp-mlp-Table-sort"
        onClick={() => onSort(nextSort(sort, column))}
        title={`Sort by ${label.toLowerCase()}`}
      >
        {label}
        <span aria-hidden="true" className="jp-mlp-Table-arrow">
          {active ? (sort.ascending ? '▲' : '▼') : ''}
        </span>
      </button>
    </th>
  );
}

/** What can be done to the selected jobs: compare them, cancel or delete them. */
function BulkActions({
  jobs,
  chosen,
  actions
}: {
  jobs: readonly JobSummary[];
  chosen: readonly JobSummary[];
  actions: ITableActions;
}): JSX.Element {
  const [busy, setBusy] = useState(false);
  const cancellable = chosen.filter(job => CANCELLABLE_STATES.has(job.state));
  const deletable = chosen.filter(job => TERMINAL_STATES.has(job.state));
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
    }
  };
  return (
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
        disabled={chosen.length < 2}
        title="Show the selected jobs side by side (select two or more)"
        onClick={() => actions.compare(chosen.map(job => job.id))}
      >
        Compare{chosen.length > 1 ? ` ${chosen.length}` : ''}
      </button>
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
  );
}
