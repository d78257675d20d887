/**
 * The jobs table's columns and their order: pure functions, so sorting, the
 * parameter and metric columns and the source filter can be checked without a page.
 */
import { IJob, IJobRef, JobSummary } from '../api';
import { jobDurationMs } from '../panel/format';
import { SortValue, sortRows } from '../sorting';
import { JOB_STATES } from '../vocabulary';

/** The fixed columns a person can sort by. */
export type FixedColumn =
  | 'name'
  | 'source'
  | 'rerun'
  | 'state'
  | 'backend'
  | 'created'
  | 'duration'
  | 'cost';

/** A column: a fixed one, a parameter (`param:lr`) or a metric (`metric:accuracy`). */
export type ColumnKey = FixedColumn | `param:${string}` | `metric:${string}`;

export const FIXED_COLUMNS: { key: FixedColumn; label: string }[] = [
  { key: 'name', label: 'Name' },
  { key: 'source', label: 'Source' },
  { key: 'rerun', label: 'Rerun of' },
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

/** What a source cell says for inline code (a magic's cell). */
export const CELL_SOURCE = 'cell';

/**
 * A job's declared parameters as the whole job tells them: the values the spec
 * sets, and the defaults of the ones it leaves alone.
 */
export interface IParameterValues {
  given: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

/** Parameter values by job id (filled as whole jobs are fetched). */
export type ParameterMap = ReadonlyMap<string, IParameterValues>;

/** One parameter's value in a job, and whether it is the declared default. */
export interface IParameterValue {
  value: unknown;
  isDefault: boolean;
}

/** The parameters a whole job ran with: its spec's values over its defaults. */
export function parameterValues(job: IJob): IParameterValues {
  return {
    given: job.spec.parameters ?? {},
    defaults: job.parameter_defaults ?? {}
  };
}

/** `name`'s value in `values`: the given one, else the default; undefined if neither. */
export function parameterValue(
  values: IParameterValues | undefined,
  name: string
): IParameterValue | undefined {
  if (values === undefined) {
    return undefined;
  }
  if (name in values.given) {
    return { value: values.given[name], isDefault: false };
  }
  if (name in values.defaults) {
    return { value: values.defaults[name], isDefault: true };
  }
  return undefined;
}

/** The column key of a parameter. */
export function parameterColumn(name: string): ColumnKey {
  return `param:${name}`;
}

/** The column key of a metric. */
export function metricColumn(name: string): ColumnKey {
  return `metric:${name}`;
}

/**
 * The parameter names of the given jobs (given and defaulted), in first-seen
 * order, so the columns stay put as more jobs are fetched.
 */
export function parameterNames(
  jobs: readonly JobSummary[],
  parameters: ParameterMap
): string[] {
  const names = new Set<string>();
  for (const job of jobs) {
    const values = parameters.get(job.id);
    for (const name of Object.keys(values?.given ?? {})) {
      names.add(name);
    }
    for (const name of Object.keys(values?.defaults ?? {})) {
      names.add(name);
    }
  }
  return [...names];
}

/** The metric names the given jobs reported, in first-seen order. */
export function metricNames(jobs: readonly JobSummary[]): string[] {
  const names = new Set<string>();
  for (const job of jobs) {
    for (const name of Object.keys(job.metrics ?? {})) {
      names.add(name);
    }
  }
  return [...names];
}

/** A metric's last reported value, or null when the job never reported it. */
export function lastMetric(job: JobSummary, name: string): number | null {
  const points = job.metrics?.[name];
  return points?.length ? points[points.length - 1].value : null;
}

/** A metric as a cell shows it: four significant digits, no trailing zeros. */
export function formatMetric(value: number | null): string {
  if (value === null || !Number.isFinite(value)) {
    return value === null ? '' : String(value);
  }
  return Number.isInteger(value)
    ? String(value)
    : String(+value.toPrecision(4));
}

/** A parameter value as a cell shows it: strings bare, the rest as JSON. */
export function formatParameter(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What a job runs: its notebook or script path, or "cell" for inline code. */
export function jobSource(job: JobSummary): string {
  return job.spec.source?.path || CELL_SOURCE;
}

/** The sources of the given jobs, each once, sorted. */
export function sourcesOf(jobs: readonly JobSummary[]): string[] {
  return [...new Set(jobs.map(jobSource))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );
}

/** The jobs that run `source`; all of them when `source` is null. */
export function filterBySource(
  jobs: readonly JobSummary[],
  source: string | null
): readonly JobSummary[] {
  return source === null ? jobs : jobs.filter(job => jobSource(job) === source);
}

/** Another job as a person knows it: "baseline (7582d1)". */
export function formatJobRef(ref: IJobRef): string {
  const short = ref.id.slice(0, 6);
  return ref.name ? `${ref.name} (${short})` : short;
}

/** The estimated cost so far in dollars, or null for jobs without one. */
export function costSoFar(job: IJob, now: number): number | null {
  if (!job.cost) {
    return null;
  }
  return (job.cost.usd_per_hour * (jobDurationMs(job, now) ?? 0)) / 3_600_000;
}

function fixedSortValue(
  job: JobSummary,
  column: FixedColumn,
  now: number
): SortValue {
  switch (column) {
    case 'name':
      return (job.name || job.id).toLowerCase();
    case 'source':
      return jobSource(job);
    case 'rerun':
      return job.rerun_of ? formatJobRef(job.rerun_of).toLowerCase() : null;
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
}

function sortValue(
  job: JobSummary,
  column: ColumnKey,
  now: number,
  parameters: ParameterMap
): SortValue {
  if (column.startsWith('metric:')) {
    return lastMetric(job, column.slice('metric:'.length));
  }
  if (!column.startsWith('param:')) {
    return fixedSortValue(job, column as FixedColumn, now);
  }
  // A default sorts as the value it is: a default 0.01 before a given 0.05.
  const value = parameterValue(
    parameters.get(job.id),
    column.slice('param:'.length)
  )?.value;
  if (value === undefined || value === null) {
    return null;
  }
  return typeof value === 'number' ? value : formatParameter(value);
}

/**
 * The jobs in the order of `sort`; jobs without a value (never started, no
 * cost, parameter not declared, metric not reported) come last either way,
 * and ties keep the list's order.
 */
export function sortJobs(
  jobs: readonly JobSummary[],
  sort: ISort,
  now: number,
  parameters: ParameterMap = new Map()
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
