/**
 * A job in plain words for the detail view: its spec, one line per aspect,
 * and the notebook cell a failure names.
 */
import {
  IBackendCapabilities,
  IJob,
  IJobRef,
  IJobSubmission,
  ITransition
} from '../api';
import { shortAccelerator } from './commandLine';

/**
 * The spec fields `describeSpec` says (and the name, the detail's title):
 * the detail lists the job's other settings beside its lines.
 */
export const DESCRIBED_FIELDS: ReadonlySet<string> = new Set([
  'kind',
  'backend',
  'name',
  'source.path',
  'source.code',
  'source.mode',
  'source.include',
  'source.origin',
  'args',
  'parameters',
  'resources.machine_type',
  'resources.accelerator_type',
  'resources.accelerator_count',
  'resources.replica_count',
  'resources.max_workers',
  'region',
  'requirements',
  'environment'
]);

export function describeSpec(spec: IJobSubmission, backend: string): string[] {
  const lines: string[] = [];
  const source = spec.source;
  const what = spec.kind === 'etl' ? 'ETL pipeline' : 'training';
  if (!source.path) {
    const count = (source.code ?? '').split('\n').length;
    lines.push(`Runs ${count} line(s) of inline code (${what}).`);
  } else if (source.path.endsWith('.ipynb')) {
    const mode =
      source.mode === 'script'
        ? 'converted to a script'
        : 'as a notebook, keeping the executed copy';
    lines.push(`Runs the notebook ${source.path} ${mode} (${what}).`);
  } else {
    lines.push(`Runs the script ${source.path} (${what}).`);
  }

  const resources = spec.resources ?? {};
  const count = resources.accelerator_count ?? 0;
  const gpus =
    count > 0
      ? `${count} × ${resources.accelerator_type ? shortAccelerator(resources.accelerator_type) : 'GPU'}`
      : 'no accelerators';
  const where = [`On ${backend}`];
  if (spec.region) {
    where.push(`in ${spec.region}`);
  }
  const machine = resources.machine_type
    ? `${resources.machine_type} with ${gpus}`
    : gpus === 'no accelerators'
      ? 'CPU only'
      : `with ${gpus}`;
  let scale = '';
  if ((resources.replica_count ?? 1) > 1) {
    scale = `, ${resources.replica_count} replicas`;
  } else if (resources.max_workers) {
    scale = `, up to ${resources.max_workers} workers`;
  }
  lines.push(`${where.join(' ')}: ${machine}${scale}.`);

  const requirements = spec.requirements;
  if (Array.isArray(requirements) ? requirements.length : requirements) {
    lines.push(
      `Installs ${Array.isArray(requirements) ? requirements.join(', ') : `the packages in ${requirements}`}.`
    );
  }
  if (source.path && source.include?.length) {
    lines.push(`Ships ${source.include.join(', ')} with it.`);
  }
  if (spec.args?.length) {
    lines.push(`Arguments: ${spec.args.join(' ')}.`);
  }
  if (spec.environment) {
    lines.push(`Environment: ${spec.environment}.`);
  }
  return lines;
}

/**
 * The notebook cell a failed notebook job's message names (`cell 3 raised
 * KeyError: …`, counted from 1 in the person's own notebook), with the
 * notebook's path; null when the job did not run a notebook or the message
 * names no cell.
 */
export function failedCell(
  job: Pick<IJob, 'spec' | 'state_message'>
): { path: string; cell: number } | null {
  const path = job.spec.source?.path;
  const match = /^cell (\d+) raised /.exec(job.state_message ?? '');
  if (!path || !path.endsWith('.ipynb') || !match) {
    return null;
  }
  const cell = Number(match[1]);
  return cell >= 1 ? { path, cell } : null;
}

/** A backend's state word without its prefix, for comparing with ours. */
function bareState(word: string): string {
  return word.replace(/^JOB_STATE_/i, '').toUpperCase();
}

/**
 * What the backend's own state word adds to the job's state, or null when it
 * adds nothing: the same word (`RUNNING`, `JOB_STATE_RUNNING`), or the exit
 * status of a job that succeeded or was cancelled. A failed job's exit status
 * reads `exit code 1`.
 */
export function backendStateNote(
  job: Pick<IJob, 'state' | 'backend_state'>
): string | null {
  const word = job.backend_state?.trim();
  if (!word || bareState(word) === job.state) {
    return null;
  }
  const exit = /^exit (-?\d+)$/.exec(word);
  if (exit) {
    return job.state === 'FAILED' ? `exit code ${exit[1]}` : null;
  }
  return word;
}

/** A timeline entry's message, or null when it only repeats the state. */
export function transitionNote(
  transition: Pick<ITransition, 'state' | 'message'>
): string | null {
  const message = transition.message?.trim();
  if (!message || bareState(message.replace(/\.$/, '')) === transition.state) {
    return null;
  }
  return message;
}

/**
 * How the detail labels a backend's id of the job (a local job's is its
 * process id): the backend's own word, a plain one while it is not known.
 */
export function backendIdLabel(
  capabilities: IBackendCapabilities | null
): string {
  return capabilities?.job_id_label ?? 'Backend id';
}

/** How many characters of a job id tell it apart in words. */
const SHORT_ID = 6;

/** "rerun of baseline (7582d1)": the job a rerun came from, told apart by its id. */
export function originText(ref: IJobRef): string {
  const short = ref.id.slice(0, SHORT_ID);
  return ref.name ? `rerun of ${ref.name} (${short})` : `rerun of ${short}`;
}

/** One value a job ran with, and whether it was the notebook's default. */
export interface IRunParameter {
  name: string;
  /** As the detail shows it: given values as JSON, defaults as their source text. */
  value: string;
  isDefault: boolean;
}

/**
 * Every parameter value the job ran with, by name: the spec's, and the
 * declared parameters it left at their defaults (marked). A default is the
 * notebook's own text (`0.01`, `'adam'`, `2 * 8`), shown as written.
 */
export function runParameters(
  job: Pick<IJob, 'spec' | 'parameter_defaults'>
): IRunParameter[] {
  const given = job.spec.parameters ?? {};
  const rows: IRunParameter[] = Object.entries(given).map(([name, value]) => ({
    name,
    value: JSON.stringify(value),
    isDefault: false
  }));
  for (const [name, value] of Object.entries(job.parameter_defaults ?? {})) {
    if (!(name in given)) {
      rows.push({
        name,
        value: typeof value === 'string' ? value : JSON.stringify(value),
        isDefault: true
      });
    }
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/** The notebook cell a `%%mlp_train` cell job's code came from, or null. */
export function sourceCell(
  job: Pick<IJob, 'spec'>
): { path: string; cellId: string | null; cellIndex: number | null } | null {
  const source = job.spec.source;
  const origin = source?.origin;
  if (!origin?.notebook || source.path) {
    return null;
  }
  return {
    path: origin.notebook,
    cellId: origin.cell_id ?? null,
    cellIndex: origin.cell_index ?? null
  };
}

/** "cell 3 of train.ipynb" (cells counted from 1), or the notebook alone. */
export function sourceCellText(cell: {
  path: string;
  cellIndex: number | null;
}): string {
  const name = cell.path.split('/').pop() || cell.path;
  return cell.cellIndex === null
    ? `a cell of ${name}`
    : `cell ${cell.cellIndex + 1} of ${name}`;
}

/**
 * "trial 3 of sweep tune-lr": what a trial job is, from its sweep as fetched
 * (the trial's number is its id there); "a trial of sweep …" without one.
 */
export function trialText(
  trialJobId: string,
  sweep: Pick<IJob, 'id' | 'name' | 'trials'>
): string {
  const trial = (sweep.trials ?? []).find(t => t.job_id === trialJobId);
  const name = sweep.name || sweep.id.slice(0, SHORT_ID);
  return trial
    ? `trial ${trial.id} of sweep ${name}`
    : `a trial of sweep ${name}`;
}
