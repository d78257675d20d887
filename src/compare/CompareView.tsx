/**
 * Selected runs side by side in the main area: what ran and how it went,
 * every parameter (defaults marked) and every metric's last value, rows whose
 * runs differ highlighted, and each metric's reports overlaid in a small chart.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useState } from 'react';

import { IJob, TERMINAL_STATES } from '../api';
import { mlpIcon } from '../icons';
import { useNow } from '../panel/hooks';
import { JobsModel } from '../panel/model';
import { metricNames } from '../table/columns';
import {
  CompareGroup,
  ICompareRow,
  compareRows,
  metricSeries
} from './compareModel';
import { MetricChart } from './MetricChart';

const GROUP_LABELS: Record<CompareGroup, string> = {
  run: 'Run',
  parameters: 'Parameters',
  metrics: 'Metrics'
};

/** A main-area tab comparing the runs `ids`, refreshed while any of them runs. */
export class CompareWidget extends ReactWidget {
  constructor(
    private readonly _model: JobsModel,
    readonly ids: readonly string[],
    private readonly _open: (id: string) => void
  ) {
    super();
    this.id = `jupyter-mlp-compare-${ids.join('-')}`;
    this.addClass('jp-mlp-CompareWidget');
    this.title.label = `Compare ${ids.length} runs`;
    this.title.caption = 'ML jobs side by side';
    this.title.icon = mlpIcon;
    this.title.closable = true;
    _model.changed.connect(this._onJobsChanged, this);
    void this._fetch();
  }

  dispose(): void {
    this._model.changed.disconnect(this._onJobsChanged, this);
    super.dispose();
  }

  protected render(): JSX.Element {
    if (this._error !== null) {
      return (
        <div className="jp-mlp-Error" role="alert">
          Could not load the runs: {this._error}
        </div>
      );
    }
    if (this._jobs === null) {
      return <div className="jp-mlp-Empty">Loading the runs…</div>;
    }
    return <CompareTable jobs={this._jobs} open={this._open} />;
  }

  private _onJobsChanged(): void {
    if (this._jobs?.some(job => !TERMINAL_STATES.has(job.state))) {
      void this._fetch();
    }
  }

  private async _fetch(): Promise<void> {
    if (this._fetching) {
      return;
    }
    this._fetching = true;
    try {
      this._jobs = await Promise.all(
        this.ids.map(id => this._model.client.getJob(id))
      );
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    } finally {
      this._fetching = false;
      this.update();
    }
  }

  private _jobs: IJob[] | null = null;
  private _error: string | null = null;
  private _fetching = false;
}

function CompareTable({
  jobs,
  open
}: {
  jobs: readonly IJob[];
  open: (id: string) => void;
}): JSX.Element {
  const [onlyDifferences, setOnlyDifferences] = useState(false);
  const now = useNow(jobs.some(job => job.started_at && !job.ended_at));
  const rows = compareRows(jobs, now).filter(
    row => row.differs || !onlyDifferences
  );
  const groups = (['run', 'parameters', 'metrics'] as CompareGroup[])
    .map(group => ({ group, rows: rows.filter(row => row.group === group) }))
    .filter(({ rows }) => rows.length > 0);
  const charted = metricNames(jobs).filter(name =>
    metricSeries(jobs, name).some(points => points.length > 1)
  );
  return (
    <div className="jp-mlp-Compare">
      <div className="jp-mlp-Compare-toolbar">
        <label>
          <input
            type="checkbox"
            checked={onlyDifferences}
            onChange={() => setOnlyDifferences(!onlyDifferences)}
          />{' '}
          Only rows that differ
        </label>
        <span className="jp-mlp-Compare-legend">
          <span className="jp-mlp-Compare-differsMark" aria-hidden="true">
            ≠
          </span>{' '}
          values differ · <span className="jp-mlp-Compare-default">italic</span>
          : a declared default
        </span>
      </div>
      <div
        className="jp-mlp-Compare-scroll"
        tabIndex={0}
        role="region"
        aria-label="Runs side by side"
      >
        <table className="jp-mlp-Compare-table" aria-label="Runs compared">
          <thead>
            <tr>
              <td />
              {jobs.map(job => (
                <th key={job.id} scope="col" data-job-id={job.id}>
                  <button
                    type="button"
                    className="jp-mlp-LinkButton"
                    title={`Show ${job.name || job.id} in the panel`}
                    onClick={() => open(job.id)}
                  >
                    {job.name || job.id}
                  </button>
                  <div className="jp-mlp-Compare-id">{job.id.slice(0, 6)}</div>
                </th>
              ))}
            </tr>
          </thead>
          {groups.map(({ group, rows }) => (
            <tbody key={group}>
              <tr className="jp-mlp-Compare-group">
                <th scope="colgroup" colSpan={jobs.length + 1}>
                  {GROUP_LABELS[group]}
                </th>
              </tr>
              {rows.map(row => (
                <CompareRow key={row.key} row={row} />
              ))}
            </tbody>
          ))}
        </table>
        {onlyDifferences && rows.length === 0 && (
          <div className="jp-mlp-Empty">These runs do not differ.</div>
        )}
      </div>
      {charted.length > 0 && (
        <div className="jp-mlp-Compare-charts">
          {charted.map(name => (
            <MetricChart
              key={name}
              metric={name}
              runs={jobs.map(job => job.name || job.id)}
              series={metricSeries(jobs, name)}
            />
          ))}
        </div>
      )}
    </div>
  );
}

function CompareRow({ row }: { row: ICompareRow }): JSX.Element {
  return (
    <tr
      className={row.differs ? 'jp-mlp-Compare-differs' : undefined}
      data-row={row.key}
      data-differs={row.differs}
    >
      <th scope="row">
        {row.label}
        {row.differs && (
          <span
            className="jp-mlp-Compare-differsMark"
            title="The runs' values differ"
          >
            {' '}
            ≠
          </span>
        )}
      </th>
      {row.cells.map((cell, index) => (
        <td
          key={index}
          className={cell.isDefault ? 'jp-mlp-Compare-default' : undefined}
          title={cell.isDefault ? 'default' : undefined}
          data-default={cell.isDefault || undefined}
        >
          {cell.text}
        </td>
      ))}
    </tr>
  );
}
