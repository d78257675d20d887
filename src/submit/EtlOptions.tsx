/**
 * The launch form's options of an ETL job (an Apache Beam pipeline): whether
 * it streams, and the pipeline's own options. Its workers (machine type,
 * GPUs, most workers) are chosen in the resource picker above.
 */
import * as React from 'react';

import { IBackendCapabilities, IFieldError } from '../api';
import { Field } from './Field';
import { IPipelineChoice } from './pipelineChoice';

export function EtlOptions(props: {
  value: IPipelineChoice;
  /** What the chosen backend can do (undefined: not known yet). */
  capabilities: IBackendCapabilities | undefined;
  errors: readonly IFieldError[];
  onChange: (value: IPipelineChoice) => void;
}): JSX.Element {
  const { value, capabilities, errors } = props;
  return (
    <section className="jp-mlp-SubmitForm-section" aria-label="Pipeline">
      <h3>Pipeline</h3>
      <label className="jp-mlp-EtlOptions-streaming">
        <input
          type="checkbox"
          checked={value.streaming}
          onChange={event =>
            props.onChange({ ...value, streaming: event.target.checked })
          }
        />{' '}
        Streaming pipeline
      </label>
      <div className="jp-mlp-Field-hint">
        {value.streaming
          ? capabilities?.drain
            ? 'Reads unbounded input until it is drained or cancelled; the job ' +
              'detail offers Drain.'
            : 'Reads unbounded input until it is cancelled.'
          : 'A batch pipeline ends when it has read all its input.'}
      </div>
      <Field
        field="args"
        label="Pipeline options"
        errors={errors}
        hint={
          // A cloud service takes its project, region and workers from the server.
          capabilities?.remote
            ? 'Your pipeline’s own options and other Beam options, e.g. ' +
              '--input gs://bucket/in.txt --output gs://bucket/out. Project, ' +
              'region, temp location and workers come from the server and ' +
              'the choices above.'
            : 'Your pipeline’s own options, e.g. --input in.txt --output counts.'
        }
      >
        {input => (
          <input
            {...input}
            type="text"
            value={value.options}
            placeholder="--input words.txt --output counts"
            spellCheck={false}
            onChange={event =>
              props.onChange({ ...value, options: event.target.value })
            }
          />
        )}
      </Field>
    </section>
  );
}
