/**
 * One job in detail: state, times, outputs and the followed log.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { caretLeftIcon, runIcon, stopIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { useEffect, useRef, useState } from 'react';

import {
  CANCELLABLE_STATES,
  IJob,
  IJobOutputs,
  JobSummary,
  MLPClient,
  TERMINAL_STATES
} from '../api';
import { ServerBackends } from '../backends';
import { asCommandLine, asMagic } from './commandLine';
import {
  backendIdLabel,
  backendStateNote,
  DESCRIBED_FIELDS,
  describeSpec,
  failedCell,
  transitionNote
} from './describe';
import {
  formatCostDetail,
  formatJobDuration,
  formatTime,
  pathParts
} from './format';
import { useCapabilities, useNow } from './hooks';
import { LogView } from './LogView';
import { DrainButton, EtlProgress } from './EtlProgress';
import { IconButton } from './IconButton';
import { jobToShow } from './model';
import { StateBadge } from './StateBadge';
import { SweepTrials } from './SweepTrials';
import { SpecFieldList } from '../submit/SpecFieldList';

export interface IJobDetailProps {
  client: MLPClient;
  /** What each backend can do (drain, progress, the name of its job id). */
  backends: ServerBackends;
  jobId: string;
  /**
   * The job as last listed, when the list has it: a summary, whose live
   * fields (state, times, cost, outputs) may be fresher than the fetched job.
   */
  listed: JobSummary | undefined;
  /** Bumped whenever the server announces a change of this job. */
  revision: number;
  onBack: () => void;
  onCancel: (job: IJob) => void;
  onRerun: (job: IJob) => void;
  /** Open the launch form prefilled with the job's spec, to change it before it runs. */
  onRerunWithChanges?: (job: IJob) => void;
  onDelete: (job: IJob) => void;
  onOpenPath: (path: string, isFolder: boolean) => void;
  /** Open a notebook at one of its cells (0-based). */
  onOpenNotebookAt: (path: string, cellIndex: number) => void;
  /** Open the job's log in a main-area tab. */
  onOpenLog?: (job: IJob) => void;
  /** Show another job (a sweep's trial) in the detail. */
  onOpenJob?: (jobId: string) => void;
}

/** How many bytes of the log's end to show with a failed job's error. */
const FAILURE_TAIL_BYTES = 4096;
const FAILURE_TAIL_LINES = 15;

/** Labels of the outputs a job may have, and whether each is a folder. */
const OUTPUTS: { key: keyof IJobOutputs; label: string; folder: boolean }[] = [
  { key: 'log', label: 'Log', folder: false },
  { key: 'executed_notebook', label: 'Executed notebook', folder: false },
  { key: 'model_dir', label: 'Model directory', folder: true },
  { key: 'folder', label: 'Output folder', folder: true }
];

export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { client, jobId, listed, revision } = props;
  const [fetched, setFetched] = useState<IJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A new listed state means new transitions (and maybe outputs): fetch again.
  const listedState = listed?.state;

  useEffect(() => {
    let cancelled = false;
    client
      .getJob(jobId)
      .then(job => {
        if (!cancelled) {
          setFetched(job);
          setError(null);
        }
      })
      .catch((reason: Error) => {
        if (!cancelled) {
          setError(reason.message);
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, jobId, revision, listedState]);

  // A drain's answer can arrive after a newer fetch (the job CANCELLED meanwhile): keep
  // whichever knows more of the job's life.
  const showDrained = (drained: IJob): void =>
    setFetched(current =>
      current?.id === drained.id &&
      current.transitions.length > drained.transitions.length
        ? current
        : drained
    );

  // Opening a job moves the focus to it, so keyboard and screen reader users land there.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [jobId]);

  const job = jobToShow(fetched?.id === jobId ? fetched : null, listed);
  const live = job !== null && !TERMINAL_STATES.has(job.state);
  const now = useNow(live && !!job?.started_at);
  const capabilitiesOf = useCapabilities(props.backends);
  const capabilities = job ? capabilitiesOf(job.backend) : null;

  return (
    <div className="jp-mlp-JobDetail">
      <div className="jp-mlp-JobDetail-header">
        <IconButton
          icon={caretLeftIcon}
          label="Back to the job list"
          title="Back to the job list"
          onClick={props.onBack}
        />
        <h3
          className="jp-mlp-JobDetail-title"
          title={job?.name ?? jobId}
          ref={heading}
          tabIndex={-1}
        >
          {job?.name || listed?.name || jobId}
        </h3>
        {job && CANCELLABLE_STATES.has(job.state) && (
          <IconButton
            icon={stopIcon}
            label={`Cancel job ${job.name || job.id}`}
            title="Cancel job"
            onClick={() => props.onCancel(job)}
          />
        )}
        {job && (
          <DrainButton
            client={client}
            job={job}
            capabilities={capabilities}
            onDrained={showDrained}
          />
        )}
        {job && TERMINAL_STATES.has(job.state) && (
          <IconButton
            icon={runIcon}
            label={`Rerun job ${job.name || job.id} as is`}
            title="Rerun as is: the same spec as a new job"
            onClick={() => props.onRerun(job)}
          />
        )}
      </div>
      {error !== null && job === null && (
        <div className="jp-mlp-Error" role="alert">
          Could not load the job: {error}
        </div>
      )}
      {error === null && job === null && (
        <div className="jp-mlp-JobDetail-loading">Loading the job…</div>
      )}
      {job !== null && (
        <>
          {job.state === 'FAILED' && (
            <FailureSummary
              client={client}
              job={job}
              onOpenNotebookAt={props.onOpenNotebookAt}
            />
          )}
          <JobActions
            job={job}
            onDelete={props.onDelete}
            onRerunWithChanges={props.onRerunWithChanges}
          />
          <ul className="jp-mlp-JobDetail-spec" aria-label="What the job runs">
            {describeSpec(job.spec, job.backend).map((line, index) => (
              <li key={index}>{line}</li>
            ))}
          </ul>
          <SpecFieldList
            spec={job.spec}
            skip={DESCRIBED_FIELDS}
            className="jp-mlp-JobDetail-fields jp-mlp-JobDetail-settings"
            label="Settings"
          />
          <dl className="jp-mlp-JobDetail-fields">
            <dt>State</dt>
            <dd>
              <StateBadge state={job.state} />
              {backendStateNote(job) && (
                <span className="jp-mlp-JobDetail-dim">
                  {' '}
                  ({backendStateNote(job)})
                </span>
              )}
            </dd>
            {job.state_message && job.state !== 'FAILED' && (
              <>
                <dt>Message</dt>
                <dd className="jp-mlp-JobDetail-message">
                  {job.state_message}
                </dd>
              </>
            )}
            <dt>Backend</dt>
            <dd>{job.backend}</dd>
            <dt>Duration</dt>
            <dd>{formatJobDuration(job, now)}</dd>
            {job.cost && (
              <>
                <dt>Cost</dt>
                <dd>
                  {formatCostDetail(job, now)} (estimate, list prices as of{' '}
                  {job.cost.prices_as_of})
                </dd>
              </>
            )}
            <dt>Created</dt>
            <dd>{formatTime(job.created_at)}</dd>
            <dt>Job id</dt>
            <dd className="jp-mlp-JobDetail-mono">{job.id}</dd>
            {job.backend_job_id && (
              <>
                <dt>{backendIdLabel(capabilities)}</dt>
                <dd className="jp-mlp-JobDetail-mono">{job.backend_job_id}</dd>
              </>
            )}
          </dl>
          <SweepTrials client={client} job={job} onOpenJob={props.onOpenJob} />
          <h4 className="jp-mlp-JobDetail-section">Timeline</h4>
          <ol className="jp-mlp-Timeline" aria-label="State changes">
            {(job.transitions ?? []).map((transition, index) => (
              <li key={index} className="jp-mlp-Timeline-item">
                <time
                  className="jp-mlp-Timeline-time"
                  dateTime={transition.at}
                  title={formatTime(transition.at)}
                >
                  {formatClock(transition.at)}
                </time>
                <StateBadge state={transition.state} />
                {transitionNote(transition) && (
                  <span className="jp-mlp-Timeline-message">
                    {transitionNote(transition)}
                  </span>
                )}
              </li>
            ))}
          </ol>
          <EtlProgress
            client={client}
            job={job}
            capabilities={capabilities}
            live={live}
          />
          <h4 className="jp-mlp-JobDetail-section">Outputs</h4>
          <ul className="jp-mlp-JobDetail-outputs">
            {OUTPUTS.filter(output => job.outputs?.[output.key]).map(output => {
              const path = job.outputs[output.key] as string;
              return (
                <li key={output.key}>
                  <span className="jp-mlp-JobDetail-dim">{output.label}: </span>
                  <button
                    className="jp-mlp-LinkButton"
                    onClick={() => props.onOpenPath(path, output.folder)}
                    title={`Open ${path}`}
                  >
                    {pathParts(path).map((part, index) => (
                      <React.Fragment key={index}>
                        {part}
                        <wbr />
                      </React.Fragment>
                    ))}
                  </button>
                </li>
              );
            })}
            {job.console_url && (
              <li>
                <span className="jp-mlp-JobDetail-dim">Console: </span>
                <a
                  href={job.console_url}
                  target="_blank"
                  rel="noopener noreferrer"
                >
                  Open in the cloud console
                </a>
              </li>
            )}
          </ul>
          <div className="jp-mlp-JobDetail-sectionRow">
            <h4 className="jp-mlp-JobDetail-section">Log</h4>
            {props.onOpenLog && (
              <button
                type="button"
                className="jp-mlp-TextButton"
                title="Open the log in a tab of its own"
                onClick={() => props.onOpenLog?.(job)}
              >
                Open log
              </button>
            )}
          </div>
          <LogView client={client} jobId={job.id} live={live} />
        </>
      )}
    </div>
  );
}

/** A time of day with seconds (the timeline's dates are in the title). */
function formatClock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleTimeString(undefined, {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit'
      });
}

/** Delete, and the two ways to copy the job as a command (rerun is in the header). */
function JobActions(props: {
  job: IJob;
  onDelete: (job: IJob) => void;
  onRerunWithChanges?: (job: IJob) => void;
}): JSX.Element {
  const { job } = props;
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (text: string, what: string) => {
    Clipboard.copyToSystem(text);
    setCopied(what);
  };
  const commandLine = asCommandLine(job.spec);
  const terminal = TERMINAL_STATES.has(job.state);
  return (
    <div className="jp-mlp-JobActions" role="toolbar" aria-label="Job actions">
      {props.onRerunWithChanges && (
        <button
          type="button"
          className="jp-mlp-TextButton"
          title="Open the launch form with this job's settings, to change them before it runs"
          onClick={() => props.onRerunWithChanges?.(job)}
        >
          Rerun…
        </button>
      )}
      {terminal && (
        <button
          type="button"
          className="jp-mlp-TextButton"
          onClick={() => props.onDelete(job)}
        >
          Delete
        </button>
      )}
      <button
        type="button"
        className="jp-mlp-TextButton"
        title={asMagic(job.spec)}
        onClick={() => copy(asMagic(job.spec), 'magic')}
      >
        Copy as %mlp_train
      </button>
      <button
        type="button"
        className="jp-mlp-TextButton"
        disabled={commandLine === null}
        title={
          commandLine ??
          'Inline code has no command-line form: save it to a file first'
        }
        onClick={() => commandLine && copy(commandLine, 'command')}
      >
        Copy as CLI command
      </button>
      <span className="jp-mlp-JobActions-status" aria-live="polite">
        {copied === 'magic' && 'Copied the magic.'}
        {copied === 'command' && 'Copied the command.'}
      </span>
    </div>
  );
}

/** A failed job's message and the end of its log, shown before anything else. */
function FailureSummary({
  client,
  job,
  onOpenNotebookAt
}: {
  client: MLPClient;
  job: IJob;
  onOpenNotebookAt: (path: string, cellIndex: number) => void;
}): JSX.Element {
  const failed = failedCell(job);
  const [tail, setTail] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    client
      .getLogs(job.id, { tail: FAILURE_TAIL_BYTES })
      .then(chunk => {
        if (!cancelled) {
          const lines = chunk.data.replace(/\n$/, '').split('\n');
          setTail(lines.slice(-FAILURE_TAIL_LINES).join('\n'));
        }
      })
      .catch(() => {
        if (!cancelled) {
          setTail('');
        }
      });
    return () => {
      cancelled = true;
    };
  }, [client, job.id]);
  return (
    <div
      className="jp-mlp-Failure"
      role="alert"
      aria-label="Why the job failed"
    >
      <div className="jp-mlp-Failure-title">Failed</div>
      <div className="jp-mlp-Failure-message">
        {job.state_message || 'The job failed without a message.'}
      </div>
      {failed && (
        <button
          type="button"
          className="jp-mlp-TextButton jp-mlp-Failure-open"
          onClick={() => onOpenNotebookAt(failed.path, failed.cell - 1)}
        >
          Open the notebook at cell {failed.cell}
        </button>
      )}
      {tail && <pre className="jp-mlp-Failure-log">{tail}</pre>}
    </div>
  );
}
