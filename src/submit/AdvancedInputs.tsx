/**
 * The inputs of the launch form's Advanced section that a plain text field
 * does not cover: a duration with its unit, a switch, and label rows.
 */
import * as React from 'react';

import { IFieldError } from '../api';
import { ErrorList, Field, fieldId } from './Field';
import { DurationUnit, IDuration, ILabelRow } from './launchOptions';

const UNITS: DurationUnit[] = ['minutes', 'hours', 'days', 'seconds'];

/** A text field for one spec field, with its errors. */
export function TextField(props: {
  field: string;
  label: string;
  value: string;
  errors: readonly IFieldError[];
  onChange: (value: string) => void;
  placeholder?: string;
  hint?: React.ReactNode;
  inputMode?: 'numeric' | 'decimal';
}): JSX.Element {
  return (
    <Field
      field={props.field}
      label={props.label}
      errors={props.errors}
      hint={props.hint}
    >
      {input => (
        <input
          {...input}
          type="text"
          inputMode={props.inputMode}
          spellCheck={false}
          value={props.value}
          placeholder={props.placeholder}
          onChange={event => props.onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

/** How long: an amount and its unit; empty is unset. */
export function DurationField(props: {
  field: string;
  label: string;
  value: IDuration;
  errors: readonly IFieldError[];
  onChange: (value: IDuration) => void;
  placeholder?: string;
  hint?: React.ReactNode;
}): JSX.Element {
  const { value, onChange } = props;
  return (
    <Field
      field={props.field}
      label={props.label}
      errors={props.errors}
      hint={props.hint}
    >
      {input => (
        <div className="jp-mlp-Advanced-duration">
          <input
            {...input}
            type="text"
            inputMode="decimal"
            value={value.amount}
            placeholder={props.placeholder ?? 'none'}
            onChange={event =>
              onChange({ ...value, amount: event.target.value })
            }
          />
          <select
            aria-label={`${props.label}: unit`}
            value={value.unit}
            onChange={event =>
              onChange({ ...value, unit: event.target.value as DurationUnit })
            }
          >
            {UNITS.map(unit => (
              <option key={unit} value={unit}>
                {unit}
              </option>
            ))}
          </select>
        </div>
      )}
    </Field>
  );
}

/** A switch for one spec field, its label beside it. */
export function CheckField(props: {
  field: string;
  label: string;
  checked: boolean;
  errors: readonly IFieldError[];
  onChange: (checked: boolean) => void;
  hint?: string;
}): JSX.Element {
  const id = fieldId(props.field);
  const mine = props.errors.filter(e => e.field === props.field);
  return (
    <div
      className={`jp-mlp-Field jp-mlp-Advanced-check${mine.length ? ' jp-mod-invalid' : ''}`}
      data-field={props.field}
    >
      <label htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          checked={props.checked}
          aria-invalid={mine.length > 0}
          title={props.hint}
          onChange={event => props.onChange(event.target.checked)}
        />{' '}
        {props.label}
      </label>
      {mine.length > 0 && <ErrorList errors={mine} />}
    </div>
  );
}

/** Labels as key = value rows; a row with no key is not sent. */
export function LabelsField(props: {
  rows: ILabelRow[];
  errors: readonly IFieldError[];
  onChange: (rows: ILabelRow[]) => void;
}): JSX.Element {
  const { rows, onChange } = props;
  const mine = props.errors.filter(
    e => e.field === 'labels' || e.field.startsWith('labels.')
  );
  const set = (index: number, patch: Partial<ILabelRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));
  return (
    <fieldset className="jp-mlp-Advanced-labels" data-field="labels">
      <legend className="jp-mlp-Field-label">Labels</legend>
      {rows.map((row, index) => (
        <div className="jp-mlp-Advanced-row" key={index}>
          <input
            type="text"
            aria-label={`Label ${index + 1} key`}
            placeholder="key"
            spellCheck={false}
            value={row.key}
            onChange={event => set(index, { key: event.target.value })}
          />
          <span aria-hidden="true">=</span>
          <input
            type="text"
            aria-label={`Label ${index + 1} value`}
            placeholder="value"
            spellCheck={false}
            value={row.value}
            onChange={event => set(index, { value: event.target.value })}
          />
          <button
            type="button"
            className="jp-mlp-TextButton jp-mlp-Advanced-remove"
            aria-label={`Remove label ${index + 1}`}
            title="Remove this label"
            onClick={() => onChange(rows.filter((_, i) => i !== index))}
          >
            ×
          </button>
        </div>
      ))}
      <button
        type="button"
        className="jp-mlp-TextButton"
        onClick={() => onChange([...rows, { key: '', value: '' }])}
      >
        Add a label
      </button>
      {mine.length > 0 && <ErrorList errors={mine} showField />}
    </fieldset>
  );
}
