/**
 * What the panel decides about a pipeline (an ETL job): whether it can drain,
 * whether its progress is shown, and how its progress reads.
 */
import { IBackendCapabilities, IJob, IJobProgress } from '../api';

/** How often a running pipeline's progress is read again. */
export const PROGRESS_INTERVAL_MS = 5000;

/** A streaming pipeline: its args say `--streaming`, as Beam's option does. */
export function isStreaming(args: readonly string[] | undefined): boolean {
  return (args ?? []).some(
    arg => arg === '--streaming' || arg === '--streaming=true'
  );
}

/**
 * Whether a job can drain: a running streaming pipeline on a backend that
 * drains (not known while its capabilities are not).
 */
export function canDrain(
  job: IJob,
  capabilities: IBackendCapabilities | null
): boolean {
  return (
    capabilities?.drain === true &&
    job.state === 'RUNNING' &&
    isStreaming(job.spec.args)
  );
}

/** Whether the job detail shows a pipeline's progress: ETL jobs on a backend that reports it. */
export function showsProgress(
  job: IJob,
  capabilities: IBackendCapabilities | null
): boolean {
  return job.kind === 'etl' && capabilities?.progress === true;
}

/** What the progress section says: each step's count, or why there is none. */
export function progressLines(
  progress: IJobProgress | null,
  error: string | null
): { steps: { step: string; elements: string }[]; note: string } {
  if (progress === null) {
    return {
      steps: [],
      note: error ? `Progress could not be read: ${error}` : 'Reading progress…'
    };
  }
  return {
    steps: progress.steps.map(({ step, elements }) => ({
      step,
      elements: `${elements.toLocaleString('en-US')} element${
        elements === 1 ? '' : 's'
      }`
    })),
    note: progress.steps.length === 0 ? progress.note : ''
  };
}
