/**
 * The jobs table's columns and their order: pure functions, so sorting and
 * the parameter columns can be checked without a page.
 */
import { IJob, JobSummary } from '../api';
import { jobDurationMs } from '../panel/format';
import { SortValue, sortRows } from '../sorting';
import { JOB_STATES } from '../vocabulary';

/** The fixed columns a person can sort by. */
export type FixedColumn =
  'name' | 'state' | 'backend' | 'created' | 'duration' | 'cost';

/** A column: a fixed one, or a parameter (`param:lr`). */
export type ColumnKey = FixedColumn | `param:${string}`;

export const FIXED_COLUMNS: { key: FixedColumn; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'state', label: 'State' },
  { key: 'backend', label: 'Backend' },
  { key: 'created', label: 'Created' },
  { key: 'duration', label: 'Duration' },
  { key: 'cost', label: 'Cost' }
];

export interface ISort {
  column: ColumnKey;
  ascending: boolean;
}

/** Newest first, as the panel lists them. */
export const DEFAULT_SORT: ISort = { column: 'created', ascending: false };

/** States in the order a job lives through them (sorting by state follows it). */
const STATE_ORDER = JOB_STATES;

/** The column key of a parameter. */
export function parameterColumn(name: string): ColumnKey {
  return `param:${name}`;
}

/**
 * The parameter names of the given jobs, in first-seen order, so the
 * columns stay put as more jobs are fetched.
 */
export function parameterNames(
  jobs: readonly JobSummary[],
  parameters: ReadonlyMap<string, Record<string, unknown>>
): string[] {
  const names = new Set<string>();
  for (const job of jobs) {
    for (const name of Object.keys(parameters.get(job.id) ?? {})) {
      names.add(name);
    }
  }
  return [...names];
}

/** A parameter value as a cell shows it: strings bare, the rest as JSON. */
export function formatParameter(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The estimated cost so far in dollars, or null for jobs without one. */
export function costSoFar(job: IJob, now: number): number | null {
  if (!job.cost) {
    return null;
  }
  return (job.cost.usd_per_hour * (jobDurationMs(job, now) ?? 0)) / 3_600_000;
}

function sortValue(
  job: JobSummary,
  column: ColumnKey,
  now: number,
  parameters: ReadonlyMap<string, Record<string, unknown>>
): SortValue {
  switch (column) {
    case 'name':
      return (job.name || job.id).toLowerCase();
    case 'state':
      return STATE_ORDER.indexOf(job.state);
    case 'backend':
      return `${job.backend} ${job.kind}`;
    case 'created':
      return Date.parse(job.created_at);
    case 'duration':
      return jobDurationMs(job, now);
    case 'cost':
      return costSoFar(job, now);
  }
  const value = parameters.get(job.id)?.[column.slice('param:'.length)];
  if (value === undefined || value === null) {
    return null;
  }
  return typeof value === 'number' ? value : formatParameter(value);
}

/**
 * The jobs in the order of `sort`; jobs without a value (never started, no
 * cost, parameter not set) come last either way, and ties keep the list's order.
 */
export function sortJobs(
  jobs: readonly JobSummary[],
  sort: ISort,
  now: number,
  parameters: ReadonlyMap<string, Record<string, unknown>> = new Map()
): JobSummary[] {
  return sortRows(
    jobs,
    job => sortValue(job, sort.column, now, parameters),
    sort.ascending
  );
}

/** The next sort after a click on `column`'s header: flip it, or start ascending (times descending). */
export function nextSort(current: ISort, column: ColumnKey): ISort {
  if (current.column === column) {
    return { column, ascending: !current.ascending };
  }
  return { column, ascending: column !== 'created' };
}
