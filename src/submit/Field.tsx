/**
 * A labelled form field with the server's errors for it shown right below,
 * each with its suggestions as one-click fixes.
 */
import * as React from 'react';

import { IFieldError } from '../api';

/** The accessibility attributes a field's input should carry. */
export interface IFieldInputProps {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
}

export interface IFieldProps {
  /** The spec field this input edits (`resources.accelerator_count`). */
  field: string;
  label: string;
  errors: readonly IFieldError[];
  /** A short help text under the input. */
  hint?: React.ReactNode;
  /** Apply one of an error's suggestions; without it they are listed as text. */
  onSuggest?: (suggestion: string) => void;
  /** Formats a suggestion for its button (`NVIDIA_TESLA_T4` -> `T4`). */
  suggestionLabel?: (suggestion: string) => string;
  children: (input: IFieldInputProps) => React.ReactNode;
}

/** Field ids are derived from spec field names: `resources.machine_type` -> `jp-mlp-f-resources-machine_type`. */
export function fieldId(field: string): string {
  return `jp-mlp-f-${field.replace(/[^\w-]/g, '-')}`;
}

export function Field(props: IFieldProps): JSX.Element {
  const { field, label, errors, hint } = props;
  const id = fieldId(field);
  const mine = errors.filter(error => error.field === field);
  const describedBy = [
    hint ? `${id}-hint` : '',
    mine.length ? `${id}-errors` : ''
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={`jp-mlp-Field${mine.length ? ' jp-mod-invalid' : ''}`}
      data-field={field}
    >
      <label className="jp-mlp-Field-label" htmlFor={id}>
        {label}
      </label>
      {props.children({
        id,
        'aria-invalid': mine.length > 0,
        'aria-describedby': describedBy || undefined
      })}
      {hint && (
        <div className="jp-mlp-Field-hint" id={`${id}-hint`}>
          {hint}
        </div>
      )}
      {mine.length > 0 && (
        <div id={`${id}-errors`}>
          <ErrorList
            errors={mine}
            onSuggest={props.onSuggest}
            suggestionLabel={props.suggestionLabel}
          />
        </div>
      )}
    </div>
  );
}

/** Errors as alerts, each with up to four suggested values. */
export function ErrorList(props: {
  errors: readonly IFieldError[];
  onSuggest?: (suggestion: string) => void;
  suggestionLabel?: (suggestion: string) => string;
  showField?: boolean;
}): JSX.Element {
  const label = props.suggestionLabel ?? ((s: string) => s);
  return (
    <ul className="jp-mlp-FieldErrors" role="alert">
      {props.errors.map((error, index) => (
        <li key={index} className="jp-mlp-FieldError">
          {props.showField && (
            <span className="jp-mlp-FieldError-field">{error.field}: </span>
          )}
          <span className="jp-mlp-FieldError-message">{error.message}</span>
          {props.onSuggest && (error.suggestions ?? []).length > 0 && (
            <span className="jp-mlp-FieldError-suggestions">
              {(error.suggestions ?? []).slice(0, 4).map(suggestion => (
                <button
                  key={suggestion}
                  type="button"
                  className="jp-mlp-SuggestionButton"
                  onClick={() => props.onSuggest!(suggestion)}
                  title={`Use ${suggestion}`}
                >
                  Use {label(suggestion)}
                </button>
              ))}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}
