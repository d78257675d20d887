/**
 * The launch form's "Sweep" section (training jobs): which parameters are
 * searched and over what, the metric the trials report and which way is
 * better, and the trial budget. The choices become the spec's `sweep`
 * (see `buildSweep`); errors for `sweep.parameters[i].…` are shown at the
 * row of the i-th searched parameter.
 */
import * as React from 'react';
import { useState } from 'react';

import { IFieldError, SweepAlgorithm, SweepGoal } from '../api';
import {
  IKnownParameter,
  ISearchChoice,
  ISweepChoice,
  SearchKind,
  buildSweep,
  gridCapNote,
  isNumeric,
  namedSearch,
  searchField,
  searchRows,
  withSearch
} from '../sweep';
import { ErrorList, Field } from './Field';

/** Errors of the sweep's own fields (the rest of `sweep.*` lands at a parameter's row). */
export function isSweepField(field: string): boolean {
  return field === 'sweep' || field.startsWith('sweep.');
}

export interface ISweepOptionsProps {
  value: ISweepChoice;
  /** The form's parameters (the file's, or inline code's), with their types and values. */
  parameters: readonly IKnownParameter[];
  /** The names searched, in the order the spec lists them (for errors by index). */
  searched: readonly string[];
  errors: readonly IFieldError[];
  onChange: (value: ISweepChoice) => void;
}

const ALGORITHMS: { value: SweepAlgorithm; label: string }[] = [
  { value: 'bayes', label: 'Bayesian' },
  { value: 'random', label: 'Random' },
  { value: 'grid', label: 'Grid' }
];

export function SweepOptions(props: ISweepOptionsProps): JSX.Element {
  const { value, errors, searched } = props;
  const rows = searchRows(value, props.parameters);
  // A grid runs each point once: the count shown under Trials replaces the server's warning.
  const capNote = value.enabled
    ? gridCapNote(buildSweep(value, props.parameters).sweep)
    : null;
  const trialErrors = capNote
    ? errors.filter(
        e => !(e.field === 'sweep.max_trials' && e.severity === 'warning')
      )
    : errors;
  const set = (patch: Partial<ISweepChoice>) =>
    props.onChange({ ...value, ...patch });
  // Errors of a parameter's row, by the part of its field (`min`, `values[1]`, '').
  const rowErrors = (name: string): IFieldError[] =>
    errors.filter(error => searchField(error.field, searched)?.name === name);
  const sectionErrors = errors.filter(
    e =>
      e.field === 'sweep' ||
      e.field === 'sweep.parameters' ||
      (e.field.startsWith('sweep.parameters[') &&
        searchField(e.field, searched) === null)
  );
  return (
    <section
      className="jp-mlp-SubmitForm-section jp-mlp-Sweep"
      aria-label="Sweep"
    >
      <h3>Sweep</h3>
      <label className="jp-mlp-Sweep-toggle">
        <input
          type="checkbox"
          checked={value.enabled}
          onChange={event => set({ enabled: event.target.checked })}
        />{' '}
        Run a hyperparameter sweep
      </label>
      <div className="jp-mlp-Field-hint">
        {value.enabled
          ? 'Each trial runs the job with other values of the searched ' +
            'parameters; the rest keep the values above.'
          : 'Runs the job several times with searched parameter values and ' +
            'keeps the best by a metric the job reports.'}
      </div>
      {value.enabled && (
        <>
          <SearchTable
            rows={rows}
            rowErrors={rowErrors}
            onChange={row => props.onChange(withSearch(value, row))}
          />
          <AddByName
            taken={rows.map(r => r.name)}
            onAdd={name => props.onChange(withSearch(value, namedSearch(name)))}
          />
          {sectionErrors.length > 0 && <ErrorList errors={sectionErrors} />}
          <div className="jp-mlp-FieldRow">
            <Field
              field="sweep.metric.name"
              label="Metric"
              errors={errors}
              hint={
                <>
                  The tag the job reports with{' '}
                  <code>
                    hypertune.HyperTune().report_hyperparameter_tuning_metric()
                  </code>
                  .
                </>
              }
            >
              {input => (
                <input
                  {...input}
                  type="text"
                  value={value.metric}
                  placeholder="accuracy"
                  spellCheck={false}
                  onChange={event => set({ metric: event.target.value })}
                />
              )}
            </Field>
            <Field field="sweep.metric.goal" label="Goal" errors={errors}>
              {input => (
                <select
                  {...input}
                  value={value.goal}
                  onChange={event =>
                    set({ goal: event.target.value as SweepGoal })
                  }
                >
                  <option value="maximize">Maximize</option>
                  <option value="minimize">Minimize</option>
                </select>
              )}
            </Field>
          </div>
          <div className="jp-mlp-FieldRow jp-mlp-Sweep-budget">
            <Field field="sweep.algorithm" label="Algorithm" errors={errors}>
              {input => (
                <select
                  {...input}
                  value={value.algorithm}
                  onChange={event =>
                    set({ algorithm: event.target.value as SweepAlgorithm })
                  }
                >
                  {ALGORITHMS.map(a => (
                    <option key={a.value} value={a.value}>
                      {a.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <NumberField
              field="sweep.max_trials"
              label="Trials"
              value={value.maxTrials}
              hint={capNote}
              errors={trialErrors}
              onChange={maxTrials => set({ maxTrials })}
            />
            <NumberField
              field="sweep.parallel_trials"
              label="At once"
              value={value.parallelTrials}
              errors={errors}
              onChange={parallelTrials => set({ parallelTrials })}
            />
            <NumberField
              field="sweep.max_failed_trials"
              label="Failures allowed"
              value={value.maxFailed}
              placeholder="default"
              errors={errors}
              onChange={maxFailed => set({ maxFailed })}
            />
          </div>
        </>
      )}
    </section>
  );
}

function NumberField(props: {
  field: string;
  label: string;
  value: string;
  placeholder?: string;
  hint?: string | null;
  errors: readonly IFieldError[];
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field
      field={props.field}
      label={props.label}
      errors={props.errors}
      hint={props.hint ?? undefined}
    >
      {input => (
        <input
          {...input}
          type="number"
          min={props.field === 'sweep.max_failed_trials' ? 0 : 1}
          value={props.value}
          placeholder={props.placeholder}
          onChange={event => props.onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

function SearchTable(props: {
  rows: ISearchChoice[];
  rowErrors: (name: string) => IFieldError[];
  onChange: (row: ISearchChoice) => void;
}): JSX.Element {
  if (props.rows.length === 0) {
    return (
      <div className="jp-mlp-Field-hint">
        No parameters to search yet: add one by name below (a script reads it as
        an argument), or tag a notebook cell <code>parameters</code>.
      </div>
    );
  }
  return (
    <table className="jp-mlp-SweepParams" aria-label="Searched parameters">
      <thead>
        <tr>
          <th scope="col">Parameter</th>
          <th scope="col">Search</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map(row => (
          <SearchRow
            key={row.name}
            row={row}
            errors={props.rowErrors(row.name)}
            onChange={props.onChange}
          />
        ))}
      </tbody>
    </table>
  );
}

function SearchRow(props: {
  row: ISearchChoice;
  errors: IFieldError[];
  onChange: (row: ISearchChoice) => void;
}): JSX.Element {
  const { row, errors } = props;
  const set = (patch: Partial<ISearchChoice>) =>
    props.onChange({ ...row, ...patch });
  const id = `jp-mlp-sweep-${row.name}`;
  const partErrors = (part: string) =>
    errors.filter(
      e => e.field.endsWith(`.${part}`) || e.field.includes(`.${part}[`)
    );
  const invalid = (part: string) => partErrors(part).length > 0;
  const kinds: { value: SearchKind; label: string }[] = [
    { value: 'fixed', label: 'Fixed' },
    ...(isNumeric(row) ? [{ value: 'range' as const, label: 'Range' }] : []),
    { value: 'values', label: 'Values' }
  ];
  return (
    <tr data-sweep-parameter={row.name}>
      <th scope="row">
        <label htmlFor={id}>{row.name}</label>
        {row.type && <span className="jp-mlp-Parameters-type">{row.type}</span>}
      </th>
      <td>
        <div className="jp-mlp-SweepParams-search">
          <select
            id={id}
            aria-label={`Search ${row.name}`}
            value={row.search}
            onChange={event =>
              set({ search: event.target.value as SearchKind })
            }
          >
            {kinds.map(kind => (
              <option key={kind.value} value={kind.value}>
                {kind.label}
              </option>
            ))}
          </select>
          {row.search === 'range' && (
            <>
              <input
                type="text"
                inputMode="decimal"
                aria-label={`${row.name} from`}
                aria-invalid={invalid('min')}
                value={row.min}
                onChange={event => set({ min: event.target.value })}
              />
              <span aria-hidden="true">to</span>
              <input
                type="text"
                inputMode="decimal"
                aria-label={`${row.name} to`}
                aria-invalid={invalid('max')}
                value={row.max}
                onChange={event => set({ max: event.target.value })}
              />
              {row.type !== 'int' && (
                <select
                  aria-label={`${row.name} scale`}
                  aria-invalid={invalid('scale')}
                  value={row.scale}
                  onChange={event =>
                    set({ scale: event.target.value as 'linear' | 'log' })
                  }
                >
                  <option value="linear">linear</option>
                  <option value="log">log</option>
                </select>
              )}
              {row.type === '' && (
                <label className="jp-mlp-SweepParams-integer">
                  <input
                    type="checkbox"
                    checked={row.integer}
                    onChange={event => set({ integer: event.target.checked })}
                  />{' '}
                  whole
                </label>
              )}
            </>
          )}
          {row.search === 'values' && (
            <input
              type="text"
              className="jp-mlp-SweepParams-values"
              aria-label={`${row.name} values`}
              aria-invalid={invalid('values')}
              placeholder={row.type === 'str' ? 'adam, sgd' : '32, 64, 128'}
              value={row.values}
              spellCheck={false}
              onChange={event => set({ values: event.target.value })}
            />
          )}
        </div>
        {errors.length > 0 && <ErrorList errors={errors} />}
      </td>
    </tr>
  );
}

function AddByName(props: {
  taken: readonly string[];
  onAdd: (name: string) => void;
}): JSX.Element {
  const [name, setName] = useState('');
  const trimmed = name.trim();
  const problem =
    trimmed === ''
      ? null
      : !/^[A-Za-z_]\w*$/.test(trimmed)
        ? `'${trimmed}' is not a Python name`
        : props.taken.includes(trimmed)
          ? `'${trimmed}' is already listed`
          : null;
  const add = () => {
    if (trimmed && problem === null) {
      props.onAdd(trimmed);
      setName('');
    }
  };
  return (
    <div className="jp-mlp-SweepAdd">
      <input
        type="text"
        aria-label="Parameter to add"
        placeholder="parameter name"
        value={name}
        aria-invalid={problem !== null}
        spellCheck={false}
        onChange={event => setName(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Enter') {
            event.preventDefault();
            add();
          }
        }}
      />
      <button
        type="button"
        className="jp-mlp-TextButton"
        disabled={!trimmed || problem !== null}
        onClick={add}
      >
        Add parameter
      </button>
      {problem && <span className="jp-mlp-SweepAdd-problem">{problem}</span>}
    </div>
  );
}
