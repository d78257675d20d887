/**
 * The launch form's "Environment": the container image (for a backend whose
 * catalog has images), other requirements and the files shipped with the job.
 */
import * as React from 'react';

import { IFieldError } from '../api';
import { Field } from './Field';
import { IFormState } from './formModel';
import { imageField } from './picker';
import { WarningList } from './ResourcePicker';

export function EnvironmentSection(props: {
  state: IFormState;
  imageHint: ReturnType<typeof imageField>;
  errors: readonly IFieldError[];
  warnings: readonly IFieldError[];
  update: (patch: Partial<IFormState>) => void;
}): JSX.Element {
  const { state, imageHint, errors, update } = props;
  return (
    <section className="jp-mlp-SubmitForm-section">
      <h3>Environment</h3>
      {imageHint && (
        <Field
          field="environment"
          label="Container image"
          errors={errors}
          hint={
            <>
              {imageHint.hint}
              <WarningList
                warnings={props.warnings.filter(w => w.field === 'environment')}
              />
            </>
          }
        >
          {input => (
            <input
              {...input}
              type="text"
              value={state.image}
              placeholder={imageHint.placeholder}
              onChange={event => update({ image: event.target.value })}
            />
          )}
        </Field>
      )}
      <Field
        field="requirements"
        label="Other requirements"
        errors={errors}
        hint="Packages to install for the job, comma-separated."
      >
        {input => (
          <input
            {...input}
            type="text"
            value={state.extraRequirements}
            placeholder="scikit-learn, pandas>=2"
            onChange={event =>
              update({ extraRequirements: event.target.value })
            }
          />
        )}
      </Field>
      {state.sourceKind === 'path' && (
        <Field
          field="source.include"
          label="Files to ship with it"
          errors={errors}
          hint="Globs next to the source, comma-separated (helper modules, small data)."
        >
          {input => (
            <input
              {...input}
              type="text"
              value={state.include}
              placeholder="utils/*.py, data/*.csv"
              onChange={event => update({ include: event.target.value })}
            />
          )}
        </Field>
      )}
    </section>
  );
}
