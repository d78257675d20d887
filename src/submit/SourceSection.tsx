/**
 * The launch form's "What to run": the file or the code, how a notebook
 * runs, the job's name and kind.
 */
import * as React from 'react';

import {
  IBackendInfo,
  IFieldError,
  JobKind,
  MLPClient,
  NotebookMode
} from '../api';
import { defaultJobName } from '../vocabulary';
import { Field } from './Field';
import { PathInput } from './FilePicker';
import { IFormState, isNotebook, withKind } from './formModel';

export function SourceSection(props: {
  client: MLPClient;
  state: IFormState;
  /** The file the form was opened on: its path is not edited. */
  fixedPath: boolean;
  backends: readonly IBackendInfo[] | null;
  errors: readonly IFieldError[];
  update: (patch: Partial<IFormState>) => void;
  setState: (change: (current: IFormState) => IFormState) => void;
}): JSX.Element {
  const { state, errors, update } = props;
  const { sourceKind, mode } = state;
  return (
    <section className="jp-mlp-SubmitForm-section">
      <h3>What to run</h3>
      {!props.fixedPath && (
        <div className="jp-mlp-Segmented" role="radiogroup" aria-label="Source">
          {(['path', 'code'] as const).map(value => (
            <label key={value}>
              <input
                type="radio"
                name="jp-mlp-source"
                checked={sourceKind === value}
                onChange={() => update({ sourceKind: value })}
              />
              {value === 'path' ? 'A file' : 'Python code'}
            </label>
          ))}
        </div>
      )}
      {sourceKind === 'path' ? (
        <Field
          field="source.path"
          label="Notebook or script"
          errors={errors}
          hint="A .ipynb or .py file, relative to the Jupyter root."
        >
          {input => (
            <PathInput
              client={props.client}
              input={input}
              value={state.path}
              readOnly={props.fixedPath}
              onChange={path => update({ path })}
            />
          )}
        </Field>
      ) : (
        <Field field="source.code" label="Code" errors={errors}>
          {input => (
            <textarea
              {...input}
              className="jp-mlp-SubmitForm-code"
              rows={6}
              value={state.code}
              placeholder="print('hello')"
              spellCheck={false}
              onChange={event => update({ code: event.target.value })}
            />
          )}
        </Field>
      )}
      {isNotebook(state) && (
        <Field
          field="source.mode"
          label="Run as"
          errors={errors}
          hint={
            mode === 'notebook'
              ? 'Executes the notebook and keeps the executed copy with its outputs.'
              : 'Converts the notebook to a Python script and runs that.'
          }
        >
          {input => (
            <select
              {...input}
              value={mode}
              onChange={event =>
                update({ mode: event.target.value as NotebookMode })
              }
            >
              <option value="notebook">Notebook</option>
              <option value="script">Script</option>
            </select>
          )}
        </Field>
      )}
      <div className="jp-mlp-FieldRow">
        <Field field="name" label="Job name" errors={errors}>
          {input => (
            <input
              {...input}
              type="text"
              value={state.name}
              placeholder={defaultJobName(
                state.kind,
                sourceKind === 'code' ? null : state.path
              )}
              onChange={event => update({ name: event.target.value })}
            />
          )}
        </Field>
        <Field field="kind" label="Kind" errors={errors}>
          {input => (
            <select
              {...input}
              value={state.kind}
              onChange={event => {
                const kind = event.target.value as JobKind;
                props.setState(current =>
                  withKind(current, kind, props.backends ?? [])
                );
              }}
            >
              <option value="train">Training</option>
              <option value="etl">ETL (Beam)</option>
            </select>
          )}
        </Field>
      </div>
    </section>
  );
}
