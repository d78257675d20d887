/**
 * Hyperparameter sweeps, without React: the launch form's sweep choices
 * turned into a `SweepSpec`, the server's `sweep.parameters[0].max` errors
 * taken back to the parameter they are about, and the trials table's sorting,
 * best marking and chart scales.
 */
import {
  IJob,
  ISweepParameter,
  ISweepSpec,
  ITrial,
  SweepAlgorithm,
  SweepGoal,
  TERMINAL_STATES
} from './api';
import { sortRows } from './sorting';

/** How a parameter takes part in a sweep: one value for every trial, a range, or a list. */
export type SearchKind = 'fixed' | 'range' | 'values';

/** One parameter's row of the sweep section, as typed. */
export interface ISearchChoice {
  name: string;
  /** The Python type of the notebook's value (`int`, `float`, `str`, `bool`); '' when added by name. */
  type: string;
  search: SearchKind;
  min: string;
  max: string;
  scale: 'linear' | 'log';
  /** Whole numbers only (an `integer` parameter) for a range. */
  integer: boolean;
  /** Comma-separated values for a list. */
  values: string;
}

/** The sweep section as typed. */
export interface ISweepChoice {
  enabled: boolean;
  metric: string;
  goal: SweepGoal;
  algorithm: SweepAlgorithm;
  maxTrials: string;
  parallelTrials: string;
  /** Empty: the backend's default. */
  maxFailed: string;
  searches: ISearchChoice[];
}

export const NO_SWEEP: ISweepChoice = {
  enabled: false,
  metric: '',
  goal: 'maximize',
  algorithm: 'bayes',
  maxTrials: '10',
  parallelTrials: '1',
  maxFailed: '',
  searches: []
};

/** A parameter of the notebook (its Python type and current value) to search over. */
export interface IKnownParameter {
  name: string;
  type: string;
  value: unknown;
}

/**
 * The search a parameter starts with once it is searched: for numbers a range
 * around the current value (floats in log space when positive, a tenth to ten
 * times; ints half to twice), for strings the current value as a list to add to,
 * for bools both values.
 */
export function startingSearch(parameter: IKnownParameter): ISearchChoice {
  const { name, type, value } = parameter;
  const base: ISearchChoice = {
    name,
    type,
    search: 'fixed',
    min: '',
    max: '',
    scale: 'linear',
    integer: type === 'int',
    values: ''
  };
  if (typeof value === 'number' && (type === 'int' || type === 'float')) {
    const [min, max] =
      type === 'int'
        ? intRange(value)
        : value > 0
          ? [value / 10, value * 10]
          : [value - 1, value + 1];
    return {
      ...base,
      min: formatNumber(min),
      max: formatNumber(max),
      scale: type === 'float' && value > 0 ? 'log' : 'linear'
    };
  }
  if (type === 'bool') {
    return { ...base, values: 'true, false' };
  }
  return {
    ...base,
    values: value === undefined || value === null ? '' : String(value)
  };
}

function intRange(value: number): [number, number] {
  if (value > 1) {
    return [Math.max(1, Math.floor(value / 2)), value * 2];
  }
  return [value - 5, value + 5];
}

/** The search a parameter added by name (a script's) starts with: a range of floats. */
export function namedSearch(name: string): ISearchChoice {
  return {
    name,
    type: '',
    search: 'range',
    min: '0',
    max: '1',
    scale: 'linear',
    integer: false,
    values: ''
  };
}

/**
 * The rows of the sweep section: one per notebook parameter (as chosen, or
 * its starting search), then those added by name.
 */
export function searchRows(
  choice: ISweepChoice,
  known: readonly IKnownParameter[]
): ISearchChoice[] {
  const named = choice.searches.filter(
    row => row.type === '' && !known.some(k => k.name === row.name)
  );
  return [
    ...known.map(parameter => {
      const chosen = choice.searches.find(row => row.name === parameter.name);
      // A row of the same name but another type was chosen for another notebook.
      if (chosen?.type === parameter.type) {
        return chosen;
      }
      return chosen?.type === ''
        ? { ...chosen, type: parameter.type }
        : startingSearch(parameter);
    }),
    ...named
  ];
}

/** The sweep section showing a spec's sweep (rerun with changes). */
export function choiceFromSweep(
  sweep: ISweepSpec | null | undefined
): ISweepChoice {
  if (!sweep) {
    return NO_SWEEP;
  }
  return {
    enabled: true,
    metric: sweep.metric.name,
    goal: sweep.metric.goal ?? 'maximize',
    algorithm: sweep.algorithm ?? 'bayes',
    maxTrials: String(sweep.max_trials ?? 10),
    parallelTrials: String(sweep.parallel_trials ?? 1),
    maxFailed:
      sweep.max_failed_trials === null || sweep.max_failed_trials === undefined
        ? ''
        : String(sweep.max_failed_trials),
    searches: sweep.parameters.map(parameter => {
      const range = parameter.type === 'double' || parameter.type === 'integer';
      return {
        name: parameter.name,
        type: '',
        search: range ? 'range' : 'values',
        min: range ? formatNumber(parameter.min ?? 0) : '',
        max: range ? formatNumber(parameter.max ?? 1) : '',
        scale: parameter.scale ?? 'linear',
        integer: parameter.type === 'integer',
        values: (parameter.values ?? []).map(String).join(', ')
      };
    })
  };
}

/** The choice with one row replaced (or added), by name. */
export function withSearch(
  choice: ISweepChoice,
  row: ISearchChoice
): ISweepChoice {
  const others = choice.searches.filter(r => r.name !== row.name);
  const index = choice.searches.findIndex(r => r.name === row.name);
  const searches =
    index < 0
      ? [...others, row]
      : [...others.slice(0, index), row, ...others.slice(index)];
  return { ...choice, searches };
}

/** Whether a row searches a range of numbers by default (numbers do, strings and bools list values). */
export function isNumeric(choice: ISearchChoice): boolean {
  return choice.type === 'int' || choice.type === 'float' || choice.type === '';
}

/** What the sweep section sends, or the mistakes found before asking the server. */
export interface IBuiltSweep {
  /** Null when the sweep is off. */
  sweep: ISweepSpec | null;
  /** The names searched (left out of the job's fixed `parameters`). */
  searched: string[];
  /** Problems by spec field (`sweep.parameters[0].min`), as the server names them. */
  errors: Record<string, string>;
}

/**
 * The `sweep` of a job spec from the form's choices. Searched parameters are
 * listed in the order of the rows, so `sweep.parameters[i]` is the i-th
 * searched row.
 */
export function buildSweep(
  choice: ISweepChoice,
  known: readonly IKnownParameter[] = []
): IBuiltSweep {
  if (!choice.enabled) {
    return { sweep: null, searched: [], errors: {} };
  }
  const errors: Record<string, string> = {};
  const parameters: ISweepParameter[] = [];
  const rows = searchRows(choice, known);
  for (const row of rows.filter(r => r.search !== 'fixed')) {
    const field = `sweep.parameters[${parameters.length}]`;
    parameters.push(searchedParameter(row, field, errors));
  }
  if (parameters.length === 0) {
    errors['sweep.parameters'] =
      'Search at least one parameter: choose a range or values for it.';
  }
  const maxTrials = wholeNumber(choice.maxTrials, 'sweep.max_trials', errors);
  const parallel = wholeNumber(
    choice.parallelTrials,
    'sweep.parallel_trials',
    errors
  );
  const maxFailed = choice.maxFailed.trim()
    ? wholeNumber(choice.maxFailed, 'sweep.max_failed_trials', errors)
    : null;
  if (!choice.metric.trim()) {
    errors['sweep.metric.name'] =
      'Give the metric the trials report (its hypertune tag), e.g. accuracy.';
  }
  return {
    sweep: {
      metric: { name: choice.metric.trim(), goal: choice.goal },
      parameters,
      algorithm: choice.algorithm,
      max_trials: maxTrials,
      parallel_trials: parallel,
      ...(maxFailed !== null ? { max_failed_trials: maxFailed } : {})
    },
    searched: parameters.map(p => p.name),
    errors
  };
}

function searchedParameter(
  row: ISearchChoice,
  field: string,
  errors: Record<string, string>
): ISweepParameter {
  if (row.search === 'range') {
    const min = number(row.min, `${field}.min`, errors);
    const max = number(row.max, `${field}.max`, errors);
    return {
      name: row.name,
      type: row.integer ? 'integer' : 'double',
      min,
      max,
      scale: row.scale
    };
  }
  const words = row.values
    .split(',')
    .map(word => word.trim())
    .filter(Boolean);
  if (words.length === 0) {
    errors[`${field}.values`] = 'Give at least one value, comma-separated.';
  }
  if (row.type === 'bool') {
    // Booleans are searched as 1 and 0, which Python reads as true and false.
    return {
      name: row.name,
      type: 'discrete',
      values: words.map(word => (/^(true|1)$/i.test(word) ? 1 : 0))
    };
  }
  const numbers = words.map(Number);
  const allNumbers =
    row.type !== 'str' &&
    words.length > 0 &&
    numbers.every(n => Number.isFinite(n));
  return allNumbers
    ? { name: row.name, type: 'discrete', values: numbers }
    : { name: row.name, type: 'categorical', values: words };
}

function number(
  text: string,
  field: string,
  errors: Record<string, string>
): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) {
    errors[field] = `'${text}' is not a number`;
  }
  return value;
}

function wholeNumber(
  text: string,
  field: string,
  errors: Record<string, string>
): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    errors[field] = `'${text}' is not a whole number`;
  }
  return Number(trimmed);
}

/**
 * The row a `sweep.parameters[i]...` field is about: the i-th searched row's
 * name, and the rest of the field (`min`, `values[2]`, `name`).
 */
export function searchField(
  field: string,
  searched: readonly string[]
): { name: string; part: string } | null {
  const match = /^sweep\.parameters\[(\d+)\](?:\.(.+))?$/.exec(field);
  if (!match || Number(match[1]) >= searched.length) {
    return null;
  }
  return { name: searched[Number(match[1])], part: match[2] ?? '' };
}

/** Numbers as a person types them: 0.01 rather than 0.010000000000000002. */
export function formatNumber(value: number): string {
  return Number.isInteger(value)
    ? String(value)
    : String(Number(value.toPrecision(6)));
}

/** A metric for a table cell: a few significant digits. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return Math.abs(value) >= 1e5 || (value !== 0 && Math.abs(value) < 1e-3)
    ? value.toExponential(3)
    : String(Number(value.toPrecision(4)));
}

/** A trial's parameter value for a table cell or an axis: four significant digits. */
export function formatValue(value: unknown): string {
  if (typeof value !== 'number') {
    return String(value ?? '');
  }
  return Number.isInteger(value) ? String(value) : formatMetric(value);
}

/** How many points of a double's range a grid search tries (the server's GRID_DOUBLE_POINTS). */
const GRID_DOUBLE_POINTS = 5;

/** Points in a grid sweep's grid (every parameter's values, multiplied); null for other searches. */
export function gridSize(sweep: ISweepSpec): number | null {
  if (sweep.algorithm !== 'grid') {
    return null;
  }
  let size = 1;
  for (const parameter of sweep.parameters) {
    if (parameter.values) {
      size *= parameter.values.length;
    } else if (parameter.type === 'integer') {
      size *=
        Math.trunc(parameter.max ?? 0) - Math.trunc(parameter.min ?? 0) + 1;
    } else {
      size *= GRID_DOUBLE_POINTS;
    }
  }
  return size;
}

/**
 * How many trials a sweep runs: its `max_trials`, or a grid's size when the
 * grid has fewer points (each point is tried once), as the server plans it.
 */
export function plannedTrials(sweep: ISweepSpec): number {
  const most = sweep.max_trials ?? 10;
  const size = gridSize(sweep);
  return size !== null && size > 0 ? Math.min(most, size) : most;
}

/**
 * What the form says under the trial count when a grid caps it
 * ("3 trials: the grid's size"); null when the count stands as typed.
 */
export function gridCapNote(sweep: ISweepSpec | null): string | null {
  if (!sweep) {
    return null;
  }
  const size = gridSize(sweep);
  const most = sweep.max_trials ?? 10;
  if (size === null || size < 1 || !(most > size)) {
    return null;
  }
  return `${size} ${size === 1 ? 'trial' : 'trials'}: the grid's size`;
}

// ---------------------------------------------------------------------------
// The sweep's job in the panel

/** The sweep a job runs, if it is a sweep job. */
export function sweepOf(job: IJob): ISweepSpec | null {
  const sweep = job.spec?.sweep;
  return sweep ? (sweep as ISweepSpec) : null;
}

/** The best succeeded trial by the sweep's goal (the server's `best_trial` when given). */
export function bestTrial(
  trials: readonly ITrial[],
  goal: SweepGoal,
  named?: string | null
): ITrial | null {
  if (named) {
    const found = trials.find(t => t.id === named);
    if (found) {
      return found;
    }
  }
  let best: ITrial | null = null;
  for (const trial of trials) {
    if (
      trial.state !== 'SUCCEEDED' ||
      trial.metric === null ||
      trial.metric === undefined
    ) {
      continue;
    }
    if (
      best === null ||
      (goal === 'minimize'
        ? trial.metric < (best.metric as number)
        : trial.metric > (best.metric as number))
    ) {
      best = trial;
    }
  }
  return best;
}

/** The line a sweep's row shows: `sweep · 3/4 trials · best 0.97`. */
export function sweepSummary(job: IJob): string | null {
  const sweep = sweepOf(job);
  if (!sweep) {
    return null;
  }
  const trials = job.trials ?? [];
  const total = plannedTrials(sweep);
  const parts = [
    'sweep',
    trials.length > 0
      ? `${trials.filter(t => TERMINAL_STATES.has(t.state)).length}/${total} trials`
      : `${total} trials`
  ];
  const best = bestTrial(
    trials,
    sweep.metric.goal ?? 'maximize',
    job.best_trial
  );
  if (best) {
    parts.push(`best ${formatMetric(best.metric)}`);
  }
  return parts.join(' · ');
}

/** A column the trials table sorts by: the trial number, a parameter, the metric, state or duration. */
export type TrialColumn =
  | { kind: 'id' }
  | { kind: 'parameter'; name: string }
  | { kind: 'metric' }
  | { kind: 'state' }
  | { kind: 'duration' };

export interface ITrialSort {
  column: TrialColumn;
  descending: boolean;
}

/** Seconds a trial ran (so far, given `now`), or null before it started. */
export function trialSeconds(trial: ITrial, now: number): number | null {
  if (!trial.started_at) {
    return null;
  }
  const start = Date.parse(trial.started_at);
  const end = trial.ended_at ? Date.parse(trial.ended_at) : now;
  return Number.isFinite(start) && Number.isFinite(end)
    ? Math.max(0, (end - start) / 1000)
    : null;
}

/** The sort a table starts with: the best first (by the sweep's goal). */
export function bestFirst(goal: SweepGoal): ITrialSort {
  return { column: { kind: 'metric' }, descending: goal === 'maximize' };
}

/**
 * Trials sorted by a column; trials without a value (no metric yet) always
 * come last, and equal values keep the trial order.
 */
export function sortTrials(
  trials: readonly ITrial[],
  sort: ITrialSort,
  now: number
): ITrial[] {
  const key = (trial: ITrial): number | string | null => {
    const column = sort.column;
    switch (column.kind) {
      case 'id':
        return trialNumber(trial);
      case 'parameter': {
        const value = trial.parameters?.[column.name];
        return value === undefined ? null : value;
      }
      case 'metric':
        return trial.metric ?? null;
      case 'state':
        return trial.state;
      case 'duration':
        return trialSeconds(trial, now);
    }
  };
  return sortRows(trials, key, !sort.descending);
}

/** A trial's number for ordering: local ids are numbers; others keep their text. */
export function trialNumber(trial: ITrial): number | string {
  const number = Number(trial.id);
  return Number.isFinite(number) ? number : trial.id;
}

// ---------------------------------------------------------------------------
// Chart scales

/** Maps values onto pixels: `[domain]` to `[range]`, linearly or in log space. */
export interface IScale {
  (value: number): number;
  domain: [number, number];
  log: boolean;
  ticks: number[];
}

/**
 * A scale over some values, padded so no point sits on the frame. A log scale
 * needs positive values: it falls back to linear for any other.
 */
export function makeScale(
  values: readonly number[],
  range: [number, number],
  log = false
): IScale {
  const finite = values.filter(v => Number.isFinite(v) && (!log || v > 0));
  const useLog = log && finite.length === values.length && finite.length > 0;
  const t = (v: number) => (useLog ? Math.log10(v) : v);
  let lo = finite.length ? Math.min(...finite.map(t)) : 0;
  let hi = finite.length ? Math.max(...finite.map(t)) : 1;
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  } else {
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const scale = ((value: number) =>
    range[0] + ((t(value) - lo) / (hi - lo)) * (range[1] - range[0])) as IScale;
  const inverse = (u: number) => (useLog ? 10 ** u : u);
  scale.domain = [inverse(lo), inverse(hi)];
  scale.log = useLog;
  scale.ticks = useLog ? logTicks(lo, hi) : linearTicks(lo, hi);
  return scale;
}

/** About five round numbers between lo and hi. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo;
  if (!(span > 0)) {
    return [lo];
  }
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step =
    [1, 2, 5, 10].map(m => m * power).find(s => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

/** Powers of ten between 10^lo and 10^hi (or the ends, when none lies between). */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let p = Math.ceil(lo); p <= Math.floor(hi); p++) {
    ticks.push(10 ** p);
  }
  return ticks.length > 0
    ? ticks
    : [Number((10 ** lo).toPrecision(2)), Number((10 ** hi).toPrecision(2))];
}
