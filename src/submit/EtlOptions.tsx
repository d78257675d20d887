/**
 * The launch form's options of an ETL job (an Apache Beam pipeline): whether
 * it streams, and the pipeline's own options. Its workers (machine type,
 * GPUs, most workers) are chosen in the resource picker above.
 */
import * as React from 'react';

import { IFieldError, JobKind } from '../api';
import { quote } from '../panel/commandLine';
import { Field } from './Field';

/** What the form holds of a pipeline's args. */
export interface IPipelineChoice {
  streaming: boolean;
  /** The other pipeline options, as typed (shell-quoted). */
  options: string;
}

const STREAMING = new Set(['--streaming', '--streaming=true']);

/**
 * Split a shell-quoted line into words, as the magics and the CLI do: single
 * quotes keep everything, double quotes keep all but `\"` and `\\`.
 */
export function splitArgs(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoteChar: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoteChar === "'") {
      if (char === "'") {
        quoteChar = null;
      } else {
        word += char;
      }
    } else if (quoteChar === '"') {
      if (char === '"') {
        quoteChar = null;
      } else if (char === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) {
        word += text[++i];
      } else {
        word += char;
      }
    } else if (/\s/.test(char)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
    } else {
      inWord = true;
      if (char === "'" || char === '"') {
        quoteChar = char;
      } else if (char === '\\' && i + 1 < text.length) {
        word += text[++i];
      } else {
        word += char;
      }
    }
  }
  if (inWord) {
    words.push(word);
  }
  return words;
}

/** A job's args as the form shows them: the streaming switch and the rest. */
export function pipelineFromArgs(
  args: readonly string[] | undefined
): IPipelineChoice {
  const all = args ?? [];
  return {
    streaming: all.some(arg => STREAMING.has(arg)),
    options: all
      .filter(arg => !STREAMING.has(arg))
      .map(quote)
      .join(' ')
  };
}

/** The args a pipeline choice sends: `--streaming` first, then the options. */
export function pipelineArgs(choice: IPipelineChoice): string[] {
  const rest = splitArgs(choice.options).filter(arg => !STREAMING.has(arg));
  return choice.streaming ? ['--streaming', ...rest] : rest;
}

/**
 * The backend to offer when the kind changes: Dataflow runs pipelines and
 * Vertex AI runs training, so a choice of the one moves to the other when it
 * is installed; any other backend (local) runs both and stays.
 */
export function backendForKind(
  kind: JobKind,
  backend: string,
  installed: readonly string[]
): string {
  const wanted =
    kind === 'etl' && backend === 'vertex'
      ? 'dataflow'
      : kind === 'train' && backend === 'dataflow'
        ? 'vertex'
        : backend;
  return installed.includes(wanted) ? wanted : backend;
}

export function EtlOptions(props: {
  value: IPipelineChoice;
  backend: string;
  errors: readonly IFieldError[];
  onChange: (value: IPipelineChoice) => void;
}): JSX.Element {
  const { value, backend, errors } = props;
  const onDataflow = backend === 'dataflow';
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
          ? onDataflow
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
          onDataflow
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
