/**
 * Runs side by side as rows of values, one cell per run: what ran, how it
 * went, every parameter (defaults marked) and every metric's last value, each
 * row knowing whether its runs differ.
 */
import { IJob, IMetricPoint } from '../api';
import { formatJobCost, formatJobDuration, formatState } from '../panel/format';
import {
  formatJobRef,
  formatMetric,
  formatParameter,
  jobSource,
  lastMetric,
  metricNames,
  parameterNames,
  parameterValue,
  parameterValues
} from '../table/columns';

/** One run's value in a row. */
export interface ICompareCell {
  text: string;
  /** A parameter the run left at its declared default. */
  isDefault?: boolean;
}

/** The part of the view a row belongs to. */
export type CompareGroup = 'run' | 'parameters' | 'metrics';

/** A row of the comparison: a label and one cell per run, in the runs' order. */
export interface ICompareRow {
  key: string;
  label: string;
  group: CompareGroup;
  cells: ICompareCell[];
  /** The runs' values are not all the same. */
  differs: boolean;
}

function row(
  key: string,
  label: string,
  group: CompareGroup,
  cells: ICompareCell[]
): ICompareRow {
  const differs = new Set(cells.map(cell => cell.text)).size > 1;
  return { key, label, group, cells, differs };
}

function runRows(jobs: readonly IJob[], now: number): ICompareRow[] {
  const texts = (format: (job: IJob) => string) =>
    jobs.map(job => ({ text: format(job) }));
  const rows = [
    row('source', 'Source', 'run', texts(jobSource)),
    row(
      'state',
      'State',
      'run',
      texts(job => formatState(job.state))
    ),
    row(
      'duration',
      'Duration',
      'run',
      texts(job => formatJobDuration(job, now))
    ),
    row(
      'cost',
      'Cost',
      'run',
      texts(job => formatJobCost(job, now) ?? '—')
    )
  ];
  if (jobs.some(job => job.rerun_of)) {
    rows.splice(
      1,
      0,
      row(
        'rerun',
        'Rerun of',
        'run',
        texts(job => (job.rerun_of ? formatJobRef(job.rerun_of) : ''))
      )
    );
  }
  return rows;
}

/** The rows comparing `jobs` (whole jobs), in the order they are given. */
export function compareRows(jobs: readonly IJob[], now: number): ICompareRow[] {
  const values = new Map(jobs.map(job => [job.id, parameterValues(job)]));
  const parameters = parameterNames(jobs, values).map(name =>
    row(
      `param:${name}`,
      name,
      'parameters',
      jobs.map(job => {
        const entry = parameterValue(values.get(job.id), name);
        return {
          text: formatParameter(entry?.value),
          isDefault: entry?.isDefault ?? false
        };
      })
    )
  );
  const metrics = metricNames(jobs).map(name =>
    row(
      `metric:${name}`,
      name,
      'metrics',
      jobs.map(job => ({ text: formatMetric(lastMetric(job, name)) }))
    )
  );
  return [...runRows(jobs, now), ...parameters, ...metrics];
}

/** Each run's reports of `metric`, in the runs' order (empty for a run without any). */
export function metricSeries(
  jobs: readonly IJob[],
  metric: string
): IMetricPoint[][] {
  return jobs.map(job => job.metrics?.[metric] ?? []);
}
