/**
 * Which of the form's problems it shows, and when: a field's errors once the
 * person touched it (changed it, or left it), all of them after a submit
 * attempt; never before any input. When Submit is blocked, the footer sums
 * them up ("2 problems: Source, Metric") with a link to each field.
 */
import type { IFieldError } from '../api';

/** What the person has done to the form so far. */
export interface ITouched {
  /** The spec fields changed or left (focus moved away). */
  fields: ReadonlySet<string>;
  /** Whether Submit was pressed (or Ctrl+Enter). */
  attempted: boolean;
  /** The field being typed in, whose errors wait until it is left (a half-typed path). */
  typing: string | null;
}

export const UNTOUCHED: ITouched = {
  fields: new Set(),
  attempted: false,
  typing: null
};

/**
 * Fields whose errors come from one choice together: a new machine type can
 * make the accelerator's count wrong, so touching one touches them all.
 */
const TOGETHER: readonly (readonly string[])[] = [
  [
    'backend',
    'region',
    'resources.machine_type',
    'resources.accelerator_type',
    'resources.accelerator_count'
  ]
];

/** The fields errors only show for while they are not being typed in. */
const SHOWN_AFTER_TYPING: ReadonlySet<string> = new Set(['source.path']);

/** `touched` with `field` (and the fields that go with it) touched. */
export function touch(touched: ITouched, field: string): ITouched {
  const group = TOGETHER.find(fields => fields.includes(field)) ?? [field];
  if (group.every(f => touched.fields.has(f))) {
    return touched;
  }
  return { ...touched, fields: new Set([...touched.fields, ...group]) };
}

/** `touched` while `field` is typed in (null: typing stopped). */
export function typingIn(touched: ITouched, field: string | null): ITouched {
  const typing = field !== null && SHOWN_AFTER_TYPING.has(field) ? field : null;
  return typing === touched.typing ? touched : { ...touched, typing };
}

/** Whether the form shows the problems of `field` now. */
export function shows(touched: ITouched, field: string): boolean {
  if (touched.attempted) {
    return true;
  }
  return touchedField(touched, field) && touched.typing !== field;
}

/** Whether `field` or a field holding it (`sweep.parameters` for `sweep.parameters[0].min`) was touched. */
function touchedField(touched: ITouched, field: string): boolean {
  for (
    let cut = field.length;
    cut > 0;
    cut = field.slice(0, cut).search(/[.[][^.[]*$/)
  ) {
    if (touched.fields.has(field.slice(0, cut))) {
      return true;
    }
  }
  return false;
}

/**
 * The problems the form shows now. A problem of a field with no input of its
 * own shows once anything was touched.
 */
export function shownProblems<T extends IFieldError>(
  problems: readonly T[],
  touched: ITouched,
  hasInput: (field: string) => boolean
): T[] {
  return problems.filter(problem =>
    hasInput(problem.field)
      ? shows(touched, problem.field)
      : touched.attempted || touched.fields.size > 0
  );
}

/** Names people read for the fields whose spec names say little. */
const LABELS: Record<string, string> = {
  'source.path': 'Source',
  'source.code': 'Code',
  'source.mode': 'Run as',
  'source.include': 'Include',
  'resources.machine_type': 'Machine type',
  'resources.accelerator_type': 'Accelerator',
  'resources.accelerator_count': 'Accelerator count',
  'resources.replica_count': 'Replicas',
  'resources.max_workers': 'Workers',
  'sweep.metric.name': 'Metric',
  'sweep.metric.goal': 'Goal',
  'sweep.max_trials': 'Trials',
  environment: 'Image',
  name: 'Job name'
};

/** A field as the summary names it: `parameters.lr` -> `lr`, `sweep.max_trials` -> `Trials`. */
export function fieldLabel(field: string): string {
  if (field in LABELS) {
    return LABELS[field];
  }
  if (field.startsWith('parameters.')) {
    return field.slice('parameters.'.length);
  }
  const last = field.split('.').pop() ?? field;
  const words = last.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The summary of what blocks Submit: one entry per field, in the form's order. */
export interface IProblemSummary {
  text: string;
  fields: { field: string; label: string }[];
}

export function problemSummary(
  errors: readonly IFieldError[]
): IProblemSummary | null {
  const fields = [...new Set(errors.map(error => error.field))];
  if (fields.length === 0) {
    return null;
  }
  const count = errors.length;
  return {
    text: `${count} problem${count === 1 ? '' : 's'}:`,
    fields: fields.map(field => ({ field, label: fieldLabel(field) }))
  };
}
