/**
 * The words the panel shares with the Python side: the submit flags (and the
 * spec fields each fills), the installed backends and their capabilities, the
 * job kinds and states, with their types.
 *
 * `vocabularyData.ts` is written from `jupyter_mlp/vocabulary.py` by
 * `python -m jupyter_mlp.vocabulary`; a Python test keeps it in step.
 */
import {
  IBackendCapabilities,
  JobKind,
  JobState,
  VOCABULARY as vocabulary
} from './vocabularyData';

export type { IBackendCapabilities, JobKind, JobState };

/**
 * How a flag's value is written: one value (`text`, `choice`, `int`), the
 * flag alone (`switch`), `TYPE:COUNT` (`gpu`), repeated `NAME=VALUE`
 * (`param`, `label`), one shell-quoted string (`args`), comma-separated names
 * or a file (`requirements`), repeated (`repeat`), a number (`float`), or a
 * repeated alternative of the launch (`fallback`).
 */
export type OptionValue =
  | 'text'
  | 'choice'
  | 'int'
  | 'float'
  | 'switch'
  | 'gpu'
  | 'param'
  | 'label'
  | 'args'
  | 'requirements'
  | 'repeat'
  | 'sweep'
  | 'metric'
  | 'fallback';

/** One submit flag, as `jupyter_mlp.client.submit_options.Option.describe` gives it. */
export interface ISubmitOption {
  flag: string;
  /** The dotted spec fields it fills; none for flags such as `--wait`. */
  fields: string[];
  value: OptionValue;
  choices: string[];
  /** The spec's own default: a spec holding it needs no flag. */
  default: unknown;
  /** The flag this one is another way to write (`--strategy spot`), if any. */
  alias?: string | null;
}

/** The submit flags, in the order they are written. */
export const SUBMIT_OPTIONS: readonly ISubmitOption[] =
  vocabulary.submit_options as ISubmitOption[];

/** The flags of a sweep (`--sweep`, `--metric`, `--trials`, ...), written after the others. */
export const SWEEP_OPTIONS: readonly ISubmitOption[] =
  vocabulary.sweep_options as ISubmitOption[];

/** Backends this package installs (others may be installed on the server). */
export const KNOWN_BACKENDS: readonly string[] = vocabulary.backends.known;

/** Backends that run jobs on a cloud (catalog, regions, prices). */
export const CLOUD_BACKENDS: readonly string[] = vocabulary.backends.cloud;

/**
 * What each backend this package installs can do, as `GET /mlp/backends`
 * serves it; the server's answer is the authority for what is installed there.
 */
export const BACKEND_CAPABILITIES: Readonly<
  Record<string, IBackendCapabilities>
> = vocabulary.backends.capabilities as Record<string, IBackendCapabilities>;

export const JOB_KINDS: readonly JobKind[] = vocabulary.kinds as JobKind[];

/** Every state, in the order of a job's life. */
export const JOB_STATES: readonly JobState[] = vocabulary.states
  .all as JobState[];

/** States that never change again. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(
  vocabulary.states.terminal as JobState[]
);

/** States in which a job holds (or is about to hold) resources on its backend. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(
  vocabulary.states.active as JobState[]
);

/** States in which a job can still be cancelled. */
export const CANCELLABLE_STATES: ReadonlySet<JobState> = new Set(
  vocabulary.states.cancellable as JobState[]
);

/**
 * The name the server gives a job whose spec names none
 * (`jupyter_mlp.core.models.default_job_name`): the file's stem, or `KIND-cell`.
 */
export function defaultJobName(kind: JobKind, path?: string | null): string {
  if (!path) {
    return `${kind}-cell`;
  }
  const file = path.split('/').pop() ?? path;
  const dot = file.lastIndexOf('.');
  return dot > 0 && dot < file.length - 1 ? file.slice(0, dot) : file;
}
