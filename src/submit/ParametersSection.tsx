/**
 * The launch form's "Parameters": the job's parameters (the file's
 * parameters cell, or a rerun's for inline code) and the file's `%pip`
 * packages, each on or off.
 */
import * as React from 'react';

import { IFieldError } from '../api';
import { ErrorList } from './Field';
import { WarningList } from './ResourcePicker';
import { IFormState, parameters, withParameter } from './formModel';
import { IParameterRow } from './parameters';

export function ParametersSection(props: {
  state: IFormState;
  errors: readonly IFieldError[];
  /** The server's word on parameters the file does not declare, and the like. */
  warnings: readonly IFieldError[];
  setState: (change: (current: IFormState) => IFormState) => void;
}): JSX.Element | null {
  const { state, errors } = props;
  const rows = parameters(state);
  const onChange = (index: number, text: string) =>
    props.setState(current => withParameter(current, index, text));
  if (state.sourceKind === 'code') {
    return rows.length === 0 ? null : (
      <section className="jp-mlp-SubmitForm-section">
        <h3>Parameters</h3>
        <div className="jp-mlp-Field-hint">
          The job's parameters, set as variables before the code runs.
        </div>
        <ParametersTable
          rows={rows}
          errors={errors}
          warnings={props.warnings}
          onChange={onChange}
        />
      </section>
    );
  }
  const { conversion, detected } = state;
  if (conversion === null) {
    return null;
  }
  return (
    <section className="jp-mlp-SubmitForm-section">
      <h3>Parameters</h3>
      <ParametersTable
        rows={rows}
        errors={errors}
        warnings={props.warnings}
        onChange={onChange}
      />
      {conversion.detected_requirements.length > 0 && (
        <fieldset className="jp-mlp-Requirements">
          <legend>Requirements found in the notebook</legend>
          {conversion.detected_requirements.map(requirement => (
            <label key={requirement}>
              <input
                type="checkbox"
                checked={detected[requirement] ?? false}
                onChange={event => {
                  const on = event.target.checked;
                  props.setState(current => ({
                    ...current,
                    detected: { ...current.detected, [requirement]: on }
                  }));
                }}
              />
              <code>{requirement}</code>
            </label>
          ))}
        </fieldset>
      )}
    </section>
  );
}

function ParametersTable(props: {
  rows: IParameterRow[];
  errors: readonly IFieldError[];
  warnings: readonly IFieldError[];
  onChange: (index: number, text: string) => void;
}): JSX.Element {
  if (props.rows.length === 0) {
    return (
      <div className="jp-mlp-Field-hint">
        No parameters: tag a cell <code>parameters</code> to set its variables
        per job.
      </div>
    );
  }
  return (
    <table className="jp-mlp-Parameters">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, index) => {
          const field = `parameters.${row.name}`;
          const mine = props.errors.filter(e => e.field === field);
          const warned = props.warnings.filter(e => e.field === field);
          const id = `jp-mlp-param-${row.name}`;
          const describedBy =
            [row.help ? `${id}-help` : '', mine.length ? `${id}-errors` : '']
              .filter(Boolean)
              .join(' ') || undefined;
          return (
            <tr key={row.name} data-field={field}>
              <th scope="row">
                <label htmlFor={id}>{row.name}</label>
                <span className="jp-mlp-Parameters-type">{row.type}</span>
              </th>
              <td>
                {row.type === 'bool' ? (
                  <input
                    id={id}
                    type="checkbox"
                    checked={row.text === 'true'}
                    aria-describedby={describedBy}
                    onChange={event =>
                      props.onChange(index, String(event.target.checked))
                    }
                  />
                ) : (
                  <input
                    id={id}
                    type="text"
                    value={row.text}
                    aria-invalid={mine.length > 0}
                    aria-describedby={describedBy}
                    spellCheck={false}
                    onChange={event =>
                      props.onChange(index, event.target.value)
                    }
                  />
                )}
                {row.help && (
                  <div className="jp-mlp-Parameters-help" id={`${id}-help`}>
                    {row.help}
                  </div>
                )}
                {mine.length > 0 && (
                  <div id={`${id}-errors`}>
                    <ErrorList errors={mine} />
                  </div>
                )}
                {warned.length > 0 && <WarningList warnings={warned} />}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
