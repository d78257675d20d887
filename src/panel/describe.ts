/**
 * A job in plain words for the detail view: its spec, one line per aspect,
 * and the notebook cell a failure names.
 */
import {
  IBackendCapabilities,
  IJob,
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

  const parameters = Object.entries(spec.parameters ?? {});
  if (parameters.length) {
    lines.push(
      `Parameters: ${parameters.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ')}.`
    );
  }
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
